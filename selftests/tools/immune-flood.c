/*
 * immune-flood: a steady stream of real execs and opens until told to stop,
 * for the reload selftest, which counts the incidents they must each raise.
 *   immune-flood EXEC_PATH MATCH_PATH NOISE_PATH NOISE_PER_ROUND ROUNDS_PER_SEC STOP_FILE
 * Each round execs EXEC_PATH once (fork+execv, waited for), opens MATCH_PATH
 * once and NOISE_PATH NOISE_PER_ROUND times; rounds are paced to
 * ROUNDS_PER_SEC (a rate the daemon can match with an incident per exec and
 * per MATCH_PATH open, so a loss would be the reload's). It stops at the end
 * of the round in which STOP_FILE exists and prints "execs N opens M noise K".
 * Exit status: 0, 1 when a call failed, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int open_close(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "immune-flood: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 7 || atol(argv[5]) <= 0) {
		fprintf(stderr, "usage: immune-flood EXEC_PATH MATCH_PATH NOISE_PATH NOISE_PER_ROUND ROUNDS_PER_SEC STOP_FILE\n");
		return 2;
	}
	long noise = atol(argv[4]), execs = 0, opens = 0, noisy = 0;
	long long step = 1000000000LL / atol(argv[5]);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (access(argv[6], F_OK) != 0) {
		pid_t p = fork();
		if (p < 0) {
			perror("immune-flood: fork");
			return 1;
		}
		if (p == 0) {
			execl(argv[1], argv[1], "true", (char *)NULL);
			_exit(127);
		}
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "immune-flood: %s did not run\n", argv[1]);
			return 1;
		}
		execs++;
		if (open_close(argv[2]))
			return 1;
		opens++;
		for (long i = 0; i < noise; i++, noisy++)
			if (open_close(argv[3]))
				return 1;
		next.tv_nsec += step;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	printf("execs %ld opens %ld noise %ld\n", execs, opens, noisy);
	return 0;
}
