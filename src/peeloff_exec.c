// SPDX-License-Identifier: GPL-2.0
/*
 * peeloff_exec: run a program in another SELinux type and MLS level.
 *
 * Usage: peeloff_exec TYPE LEVEL PROGRAM [ARG...]
 *
 * Like "runcon -t TYPE -l LEVEL", it keeps the user and role of the caller,
 * sets the exec context and executes PROGRAM, so the kernel performs the
 * domain transition. It is static, which spares the guest the dynamic
 * loading of runcon and its libraries for every server and client start:
 * under QEMU TCG that loading is a noticeable part of each case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <selinux/context.h>
#include <selinux/selinux.h>

#include "exitcodes.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: peeloff_exec TYPE LEVEL PROGRAM [ARG...]\n"
		"  TYPE     SELinux type of the new process, e.g. test_sctp_client_t\n"
		"  LEVEL    its MLS level or range, e.g. s0:c0.c10\n"
		"  PROGRAM  absolute path of the program to execute\n");
}

/* Build user:role:TYPE:LEVEL from the caller's context. */
static char *target_context(const char *type, const char *level)
{
	context_t context;
	char *current, *target = NULL;

	if (getcon(&current) < 0) {
		fprintf(stderr, "peeloff_exec: getcon: %s\n", strerror(errno));
		return NULL;
	}
	context = context_new(current);
	freecon(current);
	if (!context) {
		fprintf(stderr, "peeloff_exec: cannot parse the current context\n");
		return NULL;
	}
	if (context_type_set(context, type) || context_range_set(context, level)) {
		fprintf(stderr, "peeloff_exec: invalid type %s or level %s\n", type, level);
		goto out_free_context;
	}
	target = strdup(context_str(context));

out_free_context:
	context_free(context);
	return target;
}

int main(int argc, char **argv)
{
	char *context;

	if (argc == 2 && !strcmp(argv[1], "-h")) {
		usage();
		return PEELOFF_EXIT_PASS;
	}
	if (argc < 4 || argv[3][0] != '/') {
		fprintf(stderr, "peeloff_exec: expected TYPE LEVEL /PATH/TO/PROGRAM [ARG...]\n");
		usage();
		return PEELOFF_EXIT_USAGE;
	}

	context = target_context(argv[1], argv[2]);
	if (!context)
		return PEELOFF_EXIT_SETUP;
	if (setexeccon(context) < 0) {
		fprintf(stderr, "peeloff_exec: setexeccon %s: %s (is the context valid in the loaded policy?)\n",
			context, strerror(errno));
		return PEELOFF_EXIT_SETUP;
	}

	execv(argv[3], argv + 3);
	fprintf(stderr, "peeloff_exec: execute %s as %s: %s (a denied transition is in the kernel log)\n",
		argv[3], context, strerror(errno));
	return PEELOFF_EXIT_SETUP;
}
