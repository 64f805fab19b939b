/*
 * exec-literals: fork, and in the child exec PATH with twelve arguments whose
 * strings the child has never touched, so the sensor's exec copy cannot read
 * them (its probe reads only present pages; fork copies no page table entries
 * of a read-only file mapping). The gate then reads them from the caller
 * through the pointers the copy kept (gate.args_from_pointers), argv[0..7],
 * and the rest, argv[8..11], through the pointer array: a rule on argument 2,
 * 9 or 10 exercises both. bench/gate's children are in the same situation
 * with plain execl literals; here the strings sit alone on a page of their
 * own, so no code of the static libc the child runs after fork can share (and
 * fault in) their page.
 *   exec-literals PATH     "exit N", "signal N" or "errno NAME", as immune-probe exec
 * The arguments are "gate-lit-arg-00" ... "gate-lit-arg-11".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NARGS 12

static const struct __attribute__((aligned(4096))) {
	char s[NARGS][16];
} lit = { {
	"gate-lit-arg-00", "gate-lit-arg-01", "gate-lit-arg-02", "gate-lit-arg-03", "gate-lit-arg-04", "gate-lit-arg-05",
	"gate-lit-arg-06", "gate-lit-arg-07", "gate-lit-arg-08", "gate-lit-arg-09", "gate-lit-arg-10", "gate-lit-arg-11",
} };
_Static_assert(sizeof(lit) == 4096, "the strings' page holds nothing else");

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: exec-literals PATH\n");
		return 2;
	}
	/* the array's first 8 pointers within one page: the copy keeps all 8 */
	char *args[NARGS + 1] __attribute__((aligned(128)));
	for (int i = 0; i < NARGS; i++)
		args[i] = (char *)lit.s[i]; /* the address only: no byte of the page is read */
	args[NARGS] = NULL;
	pid_t p = fork();
	if (p < 0) {
		perror("fork");
		return 2;
	}
	if (p == 0) {
		execv(argv[1], args);
		printf("errno %s\n", strerrorname_np(errno));
		fflush(stdout);
		_exit(126);
	}
	int st;
	if (waitpid(p, &st, 0) < 0) {
		perror("waitpid");
		return 2;
	}
	if (WIFSIGNALED(st)) {
		printf("signal %d\n", WTERMSIG(st));
		return 1;
	}
	if (WEXITSTATUS(st) != 126)
		printf("exit %d\n", WEXITSTATUS(st));
	return WEXITSTATUS(st) == 0 ? 0 : 1;
}
