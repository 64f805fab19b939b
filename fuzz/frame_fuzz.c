/* libFuzzer target: the Hive's frame parser on arbitrary bytes from the network. */
#include <stddef.h>
#include <stdint.h>
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_buf b = { 0 };
	char err[256];
	cJSON *m;
	/* in two pieces, as a socket delivers them */
	size_t cut = size ? data[0] % (size + 1) : 0;
	frame_feed(&b, data, cut);
	while (frame_next(&b, &m, err, sizeof(err)) == FRAME_OK)
		cJSON_Delete(m);
	frame_feed(&b, data + cut, size - cut);
	while (frame_next(&b, &m, err, sizeof(err)) == FRAME_OK)
		cJSON_Delete(m);
	frame_buf_free(&b);
	return 0;
}
