// SPDX-License-Identifier: GPL-2.0
/*
 * SELinux contexts, the reply the servers send and the oracles the clients
 * check. Contexts are read raw (untranslated), so a running mcstransd cannot
 * change what the two sides compare. Levels are compared as strings, so -e
 * and -p must be given in the kernel's canonical form (categories sorted,
 * runs written as c1.c5).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <selinux/selinux.h>

#include "common.h"

static const char reply_peercon[] = "peercon ";
static const char reply_peercon_error[] = "peercon-error ";
static const char reply_ipopt[] = "ipopt ";

/* Return the MLS part of @context (after user:role:type:), or NULL if it has none. */
const char *mls_part(const char *context)
{
	const char *field = context;
	int i;

	for (i = 0; i < 3; i++) {
		field = strchr(field, ':');
		if (!field)
			return NULL;
		field++;
	}
	return field;
}

/* Return the context of this process (getcon), or exit with PEELOFF_EXIT_SETUP. */
char *own_context_or_exit(void)
{
	char *context;

	if (getcon_raw(&context) < 0) {
		log_error("getcon: %s: the default expected level is the own level, which needs SELinux (or give the levels with -e and -p)",
			  strerror(errno));
		exit(PEELOFF_EXIT_SETUP);
	}
	if (!mls_part(context)) {
		log_error("getcon: context %s has no MLS part: the policy must enable MLS", context);
		exit(PEELOFF_EXIT_SETUP);
	}
	return context;
}

/*
 * Return a copy of the level the oracles expect: @option_level, or the level of
 * @own_context, which may be NULL when @option_level is set.
 */
char *expected_level(const char *option_level, const char *own_context)
{
	char *level = strdup(option_level ? option_level : mls_part(own_context));

	if (!level)
		die_errno(PEELOFF_EXIT_SETUP, ENOMEM, "expected level");
	return level;
}

/* With -v, print the context of this process. */
void log_own_context(void)
{
	char *context;

	if (!verbose_enabled())
		return;
	if (getcon_raw(&context) < 0) {
		log_verbose("own context: getcon failed: %s", strerror(errno));
		return;
	}
	log_verbose("own context %s", context);
	freecon(context);
}

static void log_peer_context(int fd, const char *socket_name)
{
	char *context;
	int err;

	if (getpeercon_raw(fd, &context) < 0) {
		err = errno;
		log_verbose("%s fd %d: getpeercon failed: %s (%s)", socket_name, fd, strerror(err),
			    errno_name(err));
		return;
	}
	log_verbose("%s fd %d: peer context %s", socket_name, fd, context);
	freecon(context);
}

/*
 * With -v, print what the kernel reports about socket @fd: local address,
 * socket context, peer context and IP options.
 */
void log_socket(int fd, int family, const char *socket_name)
{
	char addr[SOCKADDR_TEXT_MAX], hex[IPOPT_HEX_MAX];
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char *context;

	if (!verbose_enabled())
		return;
	if (getsockname(fd, (struct sockaddr *)&local, &len) == 0)
		log_verbose("%s fd %d: local address %s", socket_name, fd,
			    format_sockaddr(&local, addr, sizeof(addr)));
	if (fgetfilecon_raw(fd, &context) >= 0) {
		log_verbose("%s fd %d: socket inode context %s", socket_name, fd, context);
		freecon(context);
	}
	log_peer_context(fd, socket_name);
	if (ipopt_hex(fd, family, hex, sizeof(hex)) == 0)
		log_verbose("%s fd %d: %s %s", socket_name, fd, ipopt_name(family), hex);
	else
		log_verbose("%s fd %d: getsockopt %s failed: %s", socket_name, fd, ipopt_name(family),
			    strerror(errno));
}

static size_t append(char *buf, size_t size, size_t len, const char *fmt, ...) __printf(4, 5);

/* Append to @buf, which contains @len bytes, and return the new length, truncated to fit. */
static size_t append(char *buf, size_t size, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len + 1 >= size)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return len;
	return len + (size_t)n < size ? len + (size_t)n : size - 1;
}

/*
 * Write the reply about socket @fd into @buf: its peer context (getpeercon)
 * and its IP options as hex. Returns the length of the text.
 */
size_t build_reply(int fd, int family, char *buf, size_t size)
{
	char hex[IPOPT_HEX_MAX];
	char *context;
	size_t len = 0;
	int err;

	buf[0] = '\0';
	if (getpeercon_raw(fd, &context) < 0) {
		err = errno;
		len = append(buf, size, len, "%s%s %s\n", reply_peercon_error, errno_name(err),
			     strerror(err));
	} else {
		len = append(buf, size, len, "%s%s\n", reply_peercon, context);
		freecon(context);
	}
	/* Not part of the two-line format: "ipopt error NAME text" never matches hex. */
	if (ipopt_hex(fd, family, hex, sizeof(hex)) < 0) {
		err = errno;
		snprintf(hex, sizeof(hex), "error %s %s", errno_name(err), strerror(err));
	}
	return append(buf, size, len, "%s%s\n", reply_ipopt, hex);
}

/*
 * Serve one client on the one-to-one socket @fd, an accepted or a peeled-off
 * one: receive its request, reply with the peer context and IP options of
 * @fd, then give the client up to -t seconds to close first. @on_socket ends
 * each step's name in messages, e.g. " on peeled-off socket", or is "".
 */
void serve_one_to_one(int fd, const struct options *opts, const char *peer_text,
		      const char *on_socket)
{
	int family = opts->addr.ss_family;
	struct timespec deadline;
	char reply[MESSAGE_MAX];
	struct message request;
	char step[64];
	size_t len;
	int rc;

	deadline = deadline_after(opts->timeout);
	rc = recv_data(fd, &request, &deadline);
	if (rc <= 0) {
		snprintf(step, sizeof(step), "receive request%s", on_socket);
		log_recv_failure(rc, errno, opts->timeout, peer_text, step);
		return;
	}
	log_verbose("%s: received %zu bytes", peer_text, request.len);
	len = build_reply(fd, family, reply, sizeof(reply));
	if (send_message(fd, NULL, 0, reply, len) < 0) {
		log_errno(errno, "%s: send reply%s", peer_text, on_socket);
		return;
	}
	log_reply(peer_text, reply);
	wait_for_peer_close(fd, peer_text, opts->timeout);
}

/* With -v, print each line of @reply, prefixed by @peer_text. */
void log_reply(const char *peer_text, const char *reply)
{
	const char *line = reply;
	const char *end;

	while (*line) {
		end = strchrnul(line, '\n');
		log_verbose("%s: %.*s", peer_text, (int)(end - line), line);
		line = *end ? end + 1 : end;
	}
}

static const char *after_prefix(const char *line, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(line, prefix, len) == 0 ? line + len : NULL;
}

/* Split the reply @text in place into its lines. Unknown lines are ignored. */
void parse_reply(char *text, struct reply *reply)
{
	char *save = NULL;
	const char *value;
	char *line;

	memset(reply, 0, sizeof(*reply));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		value = after_prefix(line, reply_peercon);
		if (value) {
			reply->peercon = value;
			continue;
		}
		value = after_prefix(line, reply_peercon_error);
		if (value) {
			reply->peercon_error = value;
			continue;
		}
		value = after_prefix(line, reply_ipopt);
		if (value)
			reply->ipopt = value;
	}
}

/* Oracle (a): print "oracle level: ok|FAIL ..." for the peer context the server reported. */
bool check_level_oracle(const struct reply *reply, const char *expected)
{
	const char *level;

	if (reply->peercon_error) {
		printf("oracle level: FAIL getpeercon on the server failed: %s\n",
		       reply->peercon_error);
		return false;
	}
	if (!reply->peercon) {
		printf("oracle level: FAIL the reply has no peercon line\n");
		return false;
	}
	level = mls_part(reply->peercon);
	if (level && strcmp(level, expected) == 0) {
		printf("oracle level: ok %s\n", reply->peercon);
		return true;
	}
	printf("oracle level: FAIL expected level %s, the server reported %s\n", expected,
	       reply->peercon);
	return false;
}

/* Oracle (b): print "oracle ipopt: ok|FAIL ..." comparing the IP options of @fd and the server's. */
bool check_ipopt_oracle(const struct reply *reply, int fd, int family)
{
	char hex[IPOPT_HEX_MAX];

	if (ipopt_hex(fd, family, hex, sizeof(hex)) < 0) {
		printf("oracle ipopt: FAIL getsockopt %s on the client socket failed: %s\n",
		       ipopt_name(family), strerror(errno));
		return false;
	}
	if (!reply->ipopt) {
		printf("oracle ipopt: FAIL the reply has no ipopt line, the client has %s\n", hex);
		return false;
	}
	if (strcmp(hex, reply->ipopt) == 0) {
		printf("oracle ipopt: ok %s\n", hex);
		return true;
	}
	printf("oracle ipopt: FAIL the client has %s, the server has %s\n", hex, reply->ipopt);
	return false;
}

/* Oracle (c): print "oracle peer: ok|FAIL ..." for getpeercon() on the peeled-off socket @fd. */
bool check_peer_oracle(int fd, const char *expected)
{
	const char *level;
	char *context;
	bool ok;
	int err;

	if (getpeercon_raw(fd, &context) < 0) {
		err = errno;
		printf("oracle peer: FAIL getpeercon on the peeled-off socket failed: %s (%s)%s\n",
		       strerror(err), errno_name(err),
		       err == ENOPROTOOPT ? ": the socket has no peer label" : "");
		return false;
	}
	level = mls_part(context);
	ok = level && strcmp(level, expected) == 0;
	if (ok)
		printf("oracle peer: ok %s\n", context);
	else
		printf("oracle peer: FAIL expected level %s, getpeercon on the peeled-off socket returned %s\n",
		       expected, context);
	freecon(context);
	return ok;
}
