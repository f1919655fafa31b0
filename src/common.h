/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code shared by the four SCTP test programs: option parsing, diagnostics
 * and deadlines (common.c), SCTP socket helpers (net.c), SELinux contexts,
 * the reply format and the oracles (label.c).
 *
 * Wire protocol: the client sends one byte and the server replies with one
 * message of two lines:
 *   "peercon <context>\n" or "peercon-error <ERRNO_NAME> <strerror>\n"
 *   "ipopt <lower-case hex>\n" or "ipopt none\n"
 * about the socket the server replies on.
 */
#ifndef PEELOFF_COMMON_H
#define PEELOFF_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/sctp.h>

#include "exitcodes.h"

/*
 * The kernel's names for these attributes. checkpatch warns on every
 * spelled-out format or noreturn attribute, these definitions included, so
 * they go through GCC_ATTRIBUTE.
 */
#define GCC_ATTRIBUTE(x)	__attribute__((x))
#define __printf(a, b)		GCC_ATTRIBUTE(format(printf, a, b))
#define __noreturn		GCC_ATTRIBUTE(noreturn)
#define ARRAY_SIZE(array)	(sizeof(array) / sizeof((array)[0]))

/* Default and limits of -t, in seconds. */
#define TIMEOUT_DEFAULT	2.0
#define TIMEOUT_MIN	0.001
#define TIMEOUT_MAX	3600.0

/* IPV6_HOPOPTS returns at most (255 + 1) * 8 bytes, and IP_OPTIONS at most 40. */
#define IPOPT_MAX	2048
#define IPOPT_HEX_MAX	(2 * IPOPT_MAX + 1)

/* Largest message either side exchanges: a context plus the IP options in hex. */
#define MESSAGE_MAX	8192

/* Room for "[IPv6 address]:port". */
#define SOCKADDR_TEXT_MAX	64

/* A server loop stops after this many failures of the same call in a row. */
#define SERVER_ERROR_LIMIT	100

/* The one byte a client sends. The servers ignore its value. */
#define REQUEST_BYTE	"A"

enum assoc_method {
	ASSOC_CONNECT,		/* connect(2) */
	ASSOC_CONNECTX,		/* -x: sctp_connectx(3) with one address */
	ASSOC_IMPLICIT,		/* -n: the first sctp_sendmsg(3) creates it */
};

/* Description of one program for the option parser and print_usage(). */
struct program {
	const char *name;
	const char *option_synopsis;	/* e.g. "[-v] [-t SECONDS]" */
	const char *operands;		/* e.g. "ADDR PORT" */
	const char *summary;		/* one line: what the program does */
	const char *optstring;		/* getopt(3) string, starting with ':' */
	const char *const *operand_help;	/* NULL-terminated usage lines */
	bool has_mode;			/* first operand is stream|seq */
	bool is_server;			/* only setup errors end it */
};

struct options {
	int sock_type;			/* SOCK_STREAM or SOCK_SEQPACKET */
	const char *addr_text;
	const char *port_text;
	struct sockaddr_storage addr;	/* ADDR:PORT */
	socklen_t addr_len;
	const char *bind_text;		/* -b ADDR, or NULL */
	struct sockaddr_storage bind_addr;
	socklen_t bind_len;
	enum assoc_method method;
	double timeout;			/* -t, seconds */
	const char *expect_level;	/* -e, or NULL for the own level */
	const char *expect_peer_level;	/* -p, or NULL for the own level */
	const char *ready_file;		/* -f, or NULL */
	bool verbose;
};

/* One SCTP message as sctp_recvmsg(3) returned it, NUL-terminated. */
struct message {
	char data[MESSAGE_MAX + 1];
	size_t len;
	int flags;			/* MSG_NOTIFICATION, MSG_EOR */
	struct sctp_sndrcvinfo sinfo;
	struct sockaddr_storage from;
	socklen_t from_len;
};

/* The lines of a server reply, as pointers into the message, or NULL when missing. */
struct reply {
	const char *peercon;
	const char *peercon_error;
	const char *ipopt;
};

/* common.c */
void parse_options(int argc, char **argv, const struct program *prog, struct options *opts);
const char *program_name(void);
bool verbose_enabled(void);
void log_verbose(const char *fmt, ...) __printf(1, 2);
void log_error(const char *fmt, ...) __printf(1, 2);
void log_errno(int err, const char *fmt, ...) __printf(2, 3);
__noreturn void die_errno(int code, int err, const char *fmt, ...) __printf(3, 4);
const char *errno_name(int err);
struct timespec deadline_after(double seconds);
int deadline_ms_left(const struct timespec *deadline);
void write_ready_file(const char *path);
void note_loop_error(unsigned int *count, const char *step);

/* net.c */
const char *format_sockaddr(const void *sa, char *buf, size_t size);
int sctp_socket_or_exit(int family, int type);
int set_timeout(int fd, int optname, double seconds);
int set_sctp_events(int fd, bool data_io, bool association);
int open_listener(const struct options *opts, bool data_io_events);
int open_client_socket(const struct options *opts, int type);
int start_association(int fd, const struct options *opts, sctp_assoc_t *assoc_id);
int wait_comm_up(int fd, double timeout, sctp_assoc_t *assoc_id);
int send_message(int fd, const struct sockaddr_storage *to, socklen_t to_len,
		 const char *data, size_t len);
int recv_message(int fd, struct message *msg, const struct timespec *deadline);
int recv_data(int fd, struct message *msg, const struct timespec *deadline);
void wait_for_peer_close(int fd, const char *peer_text, double timeout);
void log_recv_failure(int rc, int err, double timeout, const char *peer_text, const char *step);
const struct sctp_assoc_change *assoc_change_of(const struct message *msg);
const char *assoc_state_name(unsigned int state);
void log_notification(const char *where, const struct message *msg);
int ipopt_hex(int fd, int family, char *hex, size_t size);
const char *ipopt_name(int family);

/* label.c */
const char *mls_part(const char *context);
char *own_context_or_exit(void);
void log_own_context(void);
void log_socket(int fd, int family, const char *socket_name);
char *expected_level(const char *option_level, const char *own_context);
size_t build_reply(int fd, int family, char *buf, size_t size);
void serve_one_to_one(int fd, const struct options *opts, const char *peer_text,
		      const char *on_socket);
void log_reply(const char *peer_text, const char *reply);
void parse_reply(char *text, struct reply *reply);
bool check_level_oracle(const struct reply *reply, const char *expected);
bool check_ipopt_oracle(const struct reply *reply, int fd, int family);
bool check_peer_oracle(int fd, const char *expected);

#endif /* PEELOFF_COMMON_H */
