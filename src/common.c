// SPDX-License-Identifier: GPL-2.0
/*
 * Option parsing, usage text, diagnostics, deadlines and the readiness file
 * shared by the four SCTP test programs.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

struct option_help {
	char letter;
	const char *line;
};

/* Help lines by option letter. print_usage() prints those of the letters in the optstring. */
static const struct option_help option_help[] = {
	{ 'x', "  -x          create the association with sctp_connectx(3) and one address" },
	{ 'x', "              instead of connect(2); excludes -n (default: connect(2))" },
	{ 'n', "  -n          no connect: the first sctp_sendmsg(3), which carries the one-byte" },
	{ 'n', "              request, creates the association; excludes -x" },
	{ 'b', "  -b ADDR     bind the socket to numeric address ADDR, port 0, before the" },
	{ 'b', "              association, so that replies return to ADDR (default: no bind)" },
	{ 't', "  -t SECONDS  time limit of every blocking step on an association, in seconds," },
	{ 't', "              decimal allowed, 0.001 to 3600 (default: 2)" },
	{ 'e', "  -e LEVEL    expected MLS level of the peer context that the server reports," },
	{ 'e', "              in canonical form such as s0:c1.c3,c7 (default: the own level," },
	{ 'e', "              the MLS part of getcon())" },
	{ 'p', "  -p LEVEL    expected MLS level of getpeercon() on the peeled-off socket," },
	{ 'p', "              in canonical form (default: the own level)" },
	{ 'f', "  -f FILE     after listen() succeeded, write FILE.tmp and rename it to FILE" },
	{ 'f', "              as the readiness signal (default: no file)" },
	{ 'v', "  -v          print diagnostics on stdout: contexts, IP options in hex," },
	{ 'v', "              addresses and SCTP events (default: off)" },
	{ 'h', "  -h          print this help and exit" },
};

struct exit_help {
	int code;
	bool client_only;
	const char *meaning;
};

static const struct exit_help exit_help[] = {
	{ PEELOFF_EXIT_PASS, true, "pass: the round trip completed and every oracle held" },
	{ PEELOFF_EXIT_FAIL, true, "fail: an oracle did not hold" },
	{ PEELOFF_EXIT_USAGE, false, "invalid option or argument" },
	{ PEELOFF_EXIT_SETUP, false, "a setup call failed (socket, setsockopt, bind, getcon, ...)" },
	{ PEELOFF_EXIT_SKIP, false, "SCTP is not available in this kernel" },
	{ PEELOFF_EXIT_TIMEOUT, true, "the association did not come up within -t seconds" },
	{ PEELOFF_EXIT_NOSPC, true, "the association failed with ENOSPC (label does not fit)" },
	{ PEELOFF_EXIT_DENIED, true, "the association failed with EACCES or EPERM" },
	{ PEELOFF_EXIT_CONNECT, true, "the association failed with another errno" },
	{ PEELOFF_EXIT_PEELOFF, true, "no association notification, or sctp_peeloff() failed" },
	{ PEELOFF_EXIT_SEND, true, "sending the request failed" },
	{ PEELOFF_EXIT_RECV, true, "receiving the reply failed or timed out" },
};

static const char *prog_name = "sctp";
static bool verbose;
static struct timespec start_time;

const char *program_name(void)
{
	return prog_name;
}

bool verbose_enabled(void)
{
	return verbose;
}

static void start_program(const char *name)
{
	prog_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A send to a closed association must fail with EPIPE, not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &start_time);
}

static void print_option_help(const struct program *prog)
{
	const char *letter;
	size_t i;

	fprintf(stderr, "Options:\n");
	for (letter = prog->optstring; *letter; letter++) {
		if (*letter == ':')
			continue;
		for (i = 0; i < ARRAY_SIZE(option_help); i++)
			if (option_help[i].letter == *letter)
				fprintf(stderr, "%s\n", option_help[i].line);
	}
}

static void print_usage(const struct program *prog)
{
	const char *const *line;
	size_t i;

	fprintf(stderr, "usage: %s %s %s\n%s\n", prog->name, prog->option_synopsis,
		prog->operands, prog->summary);
	print_option_help(prog);
	fprintf(stderr, "Operands:\n");
	for (line = prog->operand_help; *line; line++)
		fprintf(stderr, "%s\n", *line);
	fprintf(stderr, "Exit status:\n");
	for (i = 0; i < ARRAY_SIZE(exit_help); i++)
		if (!(prog->is_server && exit_help[i].client_only))
			fprintf(stderr, "  %2d  %s\n", exit_help[i].code, exit_help[i].meaning);
}

static __noreturn __printf(2, 3)
void usage_error(const struct program *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	print_usage(prog);
	exit(PEELOFF_EXIT_USAGE);
}

/* Accept only digits with at most one '.', so "1e9", "inf" and "0x10" are rejected. */
static double parse_timeout(const struct program *prog, const char *text)
{
	size_t digits = strspn(text, "0123456789");
	const char *rest = text + digits;
	double seconds;

	if (*rest == '.') {
		digits += strspn(rest + 1, "0123456789");
		rest += 1 + strspn(rest + 1, "0123456789");
	}
	seconds = digits && !*rest ? strtod(text, NULL) : NAN;
	if (!(seconds >= TIMEOUT_MIN && seconds <= TIMEOUT_MAX))
		usage_error(prog, "invalid -t value '%s': expected seconds as a decimal number from %g to %g",
			    text, TIMEOUT_MIN, TIMEOUT_MAX);
	return seconds;
}

static void check_port(const struct program *prog, const char *text)
{
	unsigned long port = 0;

	if (*text && strspn(text, "0123456789") == strlen(text) && strlen(text) <= 5)
		port = strtoul(text, NULL, 10);
	if (port < 1 || port > 65535)
		usage_error(prog, "invalid PORT '%s': expected an integer from 1 to 65535", text);
}

/*
 * Accept a single MLS level as the kernel prints it: a sensitivity, then
 * optionally categories and category ranges (s0, s0:c1,c5.c9). The oracles
 * compare levels as strings, so a range (s0-s0:c1) or a typo could never
 * match and would show up as an oracle failure instead of a usage error.
 */
/* Every category of c0-c1023 listed one by one fits in this many characters. */
#define MAX_LEVEL_LEN 8192

static const char *check_level(const struct program *prog, int letter, const char *text)
{
	static const char pattern[] =
		"^s[0-9]+(:c[0-9]+(\\.c[0-9]+)?(,c[0-9]+(\\.c[0-9]+)?)*)?$";
	regex_t level_re;
	int nomatch;

	if (regcomp(&level_re, pattern, REG_EXTENDED | REG_NOSUB)) {
		log_error("cannot compile the MLS level pattern");
		exit(PEELOFF_EXIT_SETUP);
	}
	nomatch = strlen(text) > MAX_LEVEL_LEN || regexec(&level_re, text, 0, NULL, 0);
	regfree(&level_re);
	if (nomatch)
		usage_error(prog, "invalid -%c value '%.64s': expected one MLS level such as s0:c1,c5.c9",
			    letter, text);
	return text;
}

static void resolve_numeric(const struct program *prog, const char *what, const char *host,
			    const char *port, struct sockaddr_storage *addr, socklen_t *len)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *result;
	int rc;

	rc = getaddrinfo(host, port, &hints, &result);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY)
		usage_error(prog, "invalid %s '%s': expected a numeric IPv4 or IPv6 address",
			    what, host);
	if (rc != 0) {
		log_error("getaddrinfo %s: %s", host, gai_strerror(rc));
		exit(PEELOFF_EXIT_SETUP);
	}
	memcpy(addr, result->ai_addr, result->ai_addrlen);
	*len = result->ai_addrlen;
	freeaddrinfo(result);
}

static void set_method(const struct program *prog, struct options *opts,
		       enum assoc_method method)
{
	if (opts->method != ASSOC_CONNECT && opts->method != method)
		usage_error(prog, "-x and -n exclude each other: choose one way to create the association");
	opts->method = method;
}

static void parse_option(const struct program *prog, struct options *opts, int letter,
			 char *arg)
{
	switch (letter) {
	case 'x':
		set_method(prog, opts, ASSOC_CONNECTX);
		break;
	case 'n':
		set_method(prog, opts, ASSOC_IMPLICIT);
		break;
	case 'b':
		opts->bind_text = arg;
		break;
	case 't':
		opts->timeout = parse_timeout(prog, arg);
		break;
	case 'e':
		opts->expect_level = check_level(prog, letter, arg);
		break;
	case 'p':
		opts->expect_peer_level = check_level(prog, letter, arg);
		break;
	case 'f':
		if (!*arg)
			usage_error(prog, "invalid -f value '': expected a file name");
		opts->ready_file = arg;
		break;
	case 'v':
		opts->verbose = true;
		break;
	case 'h':
		print_usage(prog);
		exit(PEELOFF_EXIT_PASS);
	case ':':
		usage_error(prog, "option -%c requires an argument", optopt);
	default:
		usage_error(prog, "unknown option -%c", optopt);
	}
}

static void parse_mode(const struct program *prog, struct options *opts, const char *mode)
{
	if (strcmp(mode, "stream") == 0)
		opts->sock_type = SOCK_STREAM;
	else if (strcmp(mode, "seq") == 0)
		opts->sock_type = SOCK_SEQPACKET;
	else
		usage_error(prog, "invalid mode '%s': expected stream or seq", mode);
}

static void parse_operands(const struct program *prog, struct options *opts, int count,
			   char **operands)
{
	int expected = prog->has_mode ? 3 : 2;

	if (count < expected)
		usage_error(prog, "missing operands: expected %s", prog->operands);
	if (count > expected)
		usage_error(prog, "unexpected operand '%s'", operands[expected]);
	if (prog->has_mode)
		parse_mode(prog, opts, *operands++);
	opts->addr_text = operands[0];
	opts->port_text = operands[1];
	check_port(prog, opts->port_text);
	resolve_numeric(prog, "ADDR", opts->addr_text, opts->port_text, &opts->addr,
			&opts->addr_len);
}

static void parse_bind_address(const struct program *prog, struct options *opts)
{
	resolve_numeric(prog, "-b address", opts->bind_text, "0", &opts->bind_addr,
			&opts->bind_len);
	if (opts->bind_addr.ss_family != opts->addr.ss_family)
		usage_error(prog, "-b address '%s' and ADDR '%s' are of different families: use two IPv4 or two IPv6 addresses",
			    opts->bind_text, opts->addr_text);
}

/*
 * Parse the command line into @opts, or exit: 0 after -h, PEELOFF_EXIT_USAGE
 * after a one-line reason and the usage on invalid input.
 */
void parse_options(int argc, char **argv, const struct program *prog, struct options *opts)
{
	int letter;

	start_program(prog->name);
	memset(opts, 0, sizeof(*opts));
	opts->sock_type = SOCK_SEQPACKET;
	opts->method = ASSOC_CONNECT;
	opts->timeout = TIMEOUT_DEFAULT;
	opterr = 0;
	while ((letter = getopt(argc, argv, prog->optstring)) != -1)
		parse_option(prog, opts, letter, optarg);
	parse_operands(prog, opts, argc - optind, argv + optind);
	if (opts->bind_text)
		parse_bind_address(prog, opts);
	verbose = opts->verbose;
}

static double elapsed_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start_time.tv_sec) +
	       (double)(now.tv_nsec - start_time.tv_nsec) / 1e9;
}

/* Print a diagnostic line on stdout when -v is set: "PROG: +SECONDS text". */
void log_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	printf("%s: +%.3f ", prog_name, elapsed_seconds());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void vlog_error(int err, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

/* Print "PROG: text" on stderr. */
void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_error(0, fmt, ap);
	va_end(ap);
}

/* Print "PROG: text: strerror(err)" on stderr. */
void log_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_error(err, fmt, ap);
	va_end(ap);
}

void die_errno(int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_error(err, fmt, ap);
	va_end(ap);
	exit(code);
}

/* Return the symbolic name of @err, such as "EACCES". */
const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "EUNKNOWN";
}

struct timespec deadline_after(double seconds)
{
	struct timespec deadline;
	double whole = floor(seconds);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)whole;
	deadline.tv_nsec += (long)((seconds - whole) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	return deadline;
}

/* Return the poll(2) timeout until @deadline in ms, rounded up, or -1 (forever) for NULL. */
int deadline_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ns;

	if (!deadline)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(deadline->tv_sec - now.tv_sec) * 1000000000LL +
	     (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return (int)((ns + 999999) / 1000000);
}

/*
 * Create @path atomically (write @path.tmp, then rename) to tell the runner
 * that the server listens. Exits with PEELOFF_EXIT_SETUP on failure.
 */
void write_ready_file(const char *path)
{
	char tmp[PATH_MAX];
	FILE *file;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		die_errno(PEELOFF_EXIT_SETUP, ENAMETOOLONG, "readiness file %s", path);
	file = fopen(tmp, "w");
	if (!file)
		die_errno(PEELOFF_EXIT_SETUP, errno, "create readiness file %s", tmp);
	fprintf(file, "listening pid %d\n", (int)getpid());
	if (ferror(file) | fclose(file))
		die_errno(PEELOFF_EXIT_SETUP, errno, "write readiness file %s", tmp);
	if (rename(tmp, path) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "rename %s to %s", tmp, path);
	log_verbose("readiness file %s written", path);
}

/*
 * Count one more failure of @step in a row in a server loop. The servers go
 * on after an error, but a call that fails SERVER_ERROR_LIMIT times in a row
 * (a broken listening socket) ends the server with PEELOFF_EXIT_SETUP.
 */
void note_loop_error(unsigned int *count, const char *step)
{
	if (++*count >= SERVER_ERROR_LIMIT)
		die_errno(PEELOFF_EXIT_SETUP, 0, "%s failed %u times in a row: stopping the server",
			  step, *count);
}
