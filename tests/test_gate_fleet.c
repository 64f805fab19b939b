/* Fleet verdicts on executables by content: validated, applied as the gate's sha256 blocks, judged at the hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "detect.h"
#include "gate_fleet.h"

#define HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_hash_targets(void **s)
{
	(void)s;
	assert_true(gate_fleet_is_hash("sha256:" HEX));
	assert_false(gate_fleet_is_hash("sha256:" HEX "0"));
	assert_false(gate_fleet_is_hash("sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	assert_false(gate_fleet_is_hash("/usr/bin/evil"));
}

static void test_apply_and_judge(void **s)
{
	(void)s;
	char err[256];
	FILE *log = fopen("/dev/null", "w");
	struct detect_opts o = { .no_builtin = true, .log = log };
	struct detect *d = detect_new(&o, err, sizeof(err));
	assert_non_null(d);
	assert_false(detect_wants_sha256(d));
	cJSON *arr = cJSON_Parse("[{\"kind\":\"exec\",\"target\":\"sha256:" HEX "\",\"path\":\"/tmp/evil\","
				 "\"action\":\"deny\",\"source\":\"hive\"},"
				 "{\"kind\":\"exec\",\"target\":\"/usr/bin/x\",\"action\":\"deny\",\"source\":\"hive\"},"
				 "{\"kind\":\"exec\",\"target\":\"sha256:" HEX "\",\"action\":\"allow\",\"source\":\"hive\"}]");
	int applied = 0;
	assert_int_equal(gate_fleet_apply(d, arr, 7, &applied, err, sizeof(err)), 0);
	assert_int_equal(applied, 1);
	assert_true(detect_wants_sha256(d));
	assert_true(detect_wants_exec_hold(d));

	struct imm_event ev;
	event_clear(&ev);
	ev.type = EBPF_EVENT_EXEC;
	ev.outcome = IMM_OUTCOME_SUCCESS;
	ev.gate_held = 1;
	ev.pid = 4242;
	ev.executable = ev.filename = "/tmp/renamed";
	ev.exe_ino = 77;
	uint8_t sha[32], other[32] = { 0 };
	for (int i = 0; i < 32; i++)
		sscanf(HEX + 2 * i, "%2hhx", &sha[i]);
	assert_true(detect_judge(d, &ev, sha));
	assert_false(detect_judge(d, &ev, other));

	/* a new set without it takes it away */
	cJSON *empty = cJSON_Parse("[]");
	assert_int_equal(gate_fleet_apply(d, empty, 8, &applied, err, sizeof(err)), 0);
	assert_int_equal(applied, 0);
	assert_false(detect_judge(d, &ev, sha));
	cJSON_Delete(arr);
	cJSON_Delete(empty);
	detect_free(d);
	fclose(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_targets),
		cmocka_unit_test(test_apply_and_judge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
