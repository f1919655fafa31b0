// SPDX-License-Identifier: GPL-2.0
/*
 * SCTP socket helpers: socket creation, timeouts, event subscription, the
 * listening socket of the servers, the association step of the clients,
 * message receive with deadlines, notifications and IP options.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common.h"

#define LISTEN_BACKLOG	16

/* Format @sa as "127.0.0.1:1035" or "[::1]:1035" into @buf. */
const char *format_sockaddr(const void *sa, char *buf, size_t size)
{
	const struct sockaddr_in *sin = sa;
	const struct sockaddr_in6 *sin6 = sa;
	char host[INET6_ADDRSTRLEN];

	switch (sin->sin_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(buf, size, "(address family %d)", sin->sin_family);
	}
	return buf;
}

/*
 * Create an SCTP socket or exit: PEELOFF_EXIT_SKIP when the kernel has no
 * SCTP (EPROTONOSUPPORT, ESOCKTNOSUPPORT), PEELOFF_EXIT_SETUP otherwise.
 */
int sctp_socket_or_exit(int family, int type)
{
	const char *family_name = family == AF_INET6 ? "AF_INET6" : "AF_INET";
	const char *type_name = type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_SEQPACKET";
	int fd = socket(family, type, IPPROTO_SCTP);
	int err = errno;

	if (fd >= 0)
		return fd;
	if (err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT) {
		log_error("socket(%s, %s, IPPROTO_SCTP): %s: SCTP is not available in this kernel (enable CONFIG_IP_SCTP or load the sctp module)",
			  family_name, type_name, strerror(err));
		exit(PEELOFF_EXIT_SKIP);
	}
	die_errno(PEELOFF_EXIT_SETUP, err, "socket(%s, %s, IPPROTO_SCTP)", family_name, type_name);
}

/* Set SO_SNDTIMEO or SO_RCVTIMEO of @fd to @seconds. */
int set_timeout(int fd, int optname, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6 + 0.5);
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	return setsockopt(fd, SOL_SOCKET, optname, &tv, sizeof(tv));
}

/*
 * Subscribe @fd to data I/O and association events, all others off. The
 * header may be newer than the kernel, and kernels reject an optlen larger
 * than their own struct sctp_event_subscribe, so pass only the leading
 * fields up to sctp_shutdown_event that every SCTP kernel has. The kernel
 * updates only the events that fit in optlen, and the others are off by
 * default.
 */
int set_sctp_events(int fd, bool data_io, bool association)
{
	struct sctp_event_subscribe events;

	memset(&events, 0, sizeof(events));
	events.sctp_data_io_event = data_io;
	events.sctp_association_event = association;
	return setsockopt(fd, IPPROTO_SCTP, SCTP_EVENTS, &events,
			  offsetof(struct sctp_event_subscribe, sctp_partial_delivery_event));
}

/*
 * Open the listening socket of a server on ADDR:PORT and write the readiness
 * file. One-to-many sockets get association events, and also data I/O events
 * when @data_io_events is set. Exits on failure.
 */
int open_listener(const struct options *opts, bool data_io_events)
{
	char where[SOCKADDR_TEXT_MAX];
	int enable = 1;
	int fd;

	fd = sctp_socket_or_exit(opts->addr.ss_family, opts->sock_type);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof(enable)) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "setsockopt SO_REUSEADDR");
	/* Accepted and peeled-off sockets inherit this bound on sends. */
	if (set_timeout(fd, SO_SNDTIMEO, opts->timeout) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "setsockopt SO_SNDTIMEO %g s", opts->timeout);
	if (opts->sock_type == SOCK_SEQPACKET && set_sctp_events(fd, data_io_events, true) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "setsockopt SCTP_EVENTS");
	format_sockaddr(&opts->addr, where, sizeof(where));
	if (bind(fd, (const struct sockaddr *)&opts->addr, opts->addr_len) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "bind %s", where);
	if (listen(fd, LISTEN_BACKLOG) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "listen on %s", where);
	log_own_context();
	log_verbose("listening on %s with a %s socket, fd %d", where,
		    opts->sock_type == SOCK_STREAM ? "one-to-one" : "one-to-many", fd);
	log_socket(fd, opts->addr.ss_family, "listening socket");
	if (opts->ready_file)
		write_ready_file(opts->ready_file);
	return fd;
}

/*
 * Open a client socket: send and receive timeouts, association events, and
 * the bind to -b ADDR. Exits on failure.
 */
int open_client_socket(const struct options *opts, int type)
{
	char where[SOCKADDR_TEXT_MAX];
	int fd;

	fd = sctp_socket_or_exit(opts->addr.ss_family, type);
	if (set_timeout(fd, SO_SNDTIMEO, opts->timeout) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "setsockopt SO_SNDTIMEO %g s", opts->timeout);
	if (set_timeout(fd, SO_RCVTIMEO, opts->timeout) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "setsockopt SO_RCVTIMEO %g s", opts->timeout);
	if (set_sctp_events(fd, false, true) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "setsockopt SCTP_EVENTS (association events)");
	if (!opts->bind_text)
		return fd;
	format_sockaddr(&opts->bind_addr, where, sizeof(where));
	if (bind(fd, (const struct sockaddr *)&opts->bind_addr, opts->bind_len) < 0)
		die_errno(PEELOFF_EXIT_SETUP, errno, "bind %s", where);
	log_verbose("bound to %s", where);
	return fd;
}

static int association_exit_code(int err)
{
	switch (err) {
	case EINPROGRESS:
	case ETIMEDOUT:
	case EAGAIN:
		return PEELOFF_EXIT_TIMEOUT;
	case ENOSPC:
		return PEELOFF_EXIT_NOSPC;
	case EACCES:
	case EPERM:
		return PEELOFF_EXIT_DENIED;
	default:
		return PEELOFF_EXIT_CONNECT;
	}
}

static const char *association_hint(int code)
{
	switch (code) {
	case PEELOFF_EXIT_TIMEOUT:
		return " (the association did not come up within -t seconds, as when the INIT is dropped)";
	case PEELOFF_EXIT_NOSPC:
		return " (NetLabel cannot encode the level in the configured IP option)";
	case PEELOFF_EXIT_DENIED:
		return " (the security policy denied it: look for an AVC denial)";
	default:
		return "";
	}
}

/*
 * Create the association to ADDR:PORT as -x and -n select. With -n this
 * sends the one-byte request. Returns PEELOFF_EXIT_PASS or the exit code
 * for the errno, after a message on stderr.
 */
int start_association(int fd, const struct options *opts, sctp_assoc_t *assoc_id)
{
	struct sockaddr *server = (struct sockaddr *)&opts->addr;
	char where[SOCKADDR_TEXT_MAX];
	const char *step;
	int rc, err, code;

	format_sockaddr(server, where, sizeof(where));
	switch (opts->method) {
	case ASSOC_CONNECTX:
		step = "sctp_connectx";
		/*
		 * lksctp-tools 1.0.19 reads errno after a successful
		 * SCTP_SOCKOPT_CONNECTX3 and, if a stale ENOPROTOOPT is left,
		 * tries the old API on the connected socket (EISCONN).
		 */
		errno = 0;
		rc = sctp_connectx(fd, server, 1, assoc_id);
		break;
	case ASSOC_IMPLICIT:
		step = "sctp_sendmsg (implicit association)";
		rc = send_message(fd, &opts->addr, opts->addr_len, REQUEST_BYTE, 1);
		break;
	default:
		step = "connect";
		rc = connect(fd, server, opts->addr_len);
	}
	err = errno;
	if (rc >= 0) {
		log_verbose("%s to %s: %s", step, where, opts->method == ASSOC_IMPLICIT ?
			    "request sent, association starting" : "association up");
		return PEELOFF_EXIT_PASS;
	}
	code = association_exit_code(err);
	log_error("%s to %s: %s%s", step, where, strerror(err), association_hint(code));
	return code;
}

static int report_missing_comm_up(int rc, int err, double timeout)
{
	if (rc < 0 && err == ETIMEDOUT) {
		log_error("wait for SCTP_COMM_UP: no association notification within %g s: the association did not come up, as when the INIT is dropped",
			  timeout);
		return PEELOFF_EXIT_TIMEOUT;
	}
	if (rc == 0)
		log_error("wait for SCTP_COMM_UP: the socket was shut down");
	else
		log_errno(err, "wait for SCTP_COMM_UP: sctp_recvmsg");
	return PEELOFF_EXIT_PEELOFF;
}

static int check_comm_up(const struct sctp_assoc_change *change, sctp_assoc_t *assoc_id)
{
	if (change->sac_state == SCTP_COMM_UP) {
		*assoc_id = change->sac_assoc_id;
		return PEELOFF_EXIT_PASS;
	}
	if (change->sac_state == SCTP_CANT_STR_ASSOC) {
		log_error("association %d: SCTP_CANT_STR_ASSOC (error %u): the association did not come up",
			  change->sac_assoc_id, change->sac_error);
		return PEELOFF_EXIT_TIMEOUT;
	}
	log_error("association %d: expected SCTP_COMM_UP, received %s",
		  change->sac_assoc_id, assoc_state_name(change->sac_state));
	return PEELOFF_EXIT_PEELOFF;
}

/*
 * Wait up to @timeout seconds for the SCTP_ASSOC_CHANGE notification of the
 * new association on @fd and store its id. The first message must be a
 * notification. Returns PEELOFF_EXIT_PASS on SCTP_COMM_UP,
 * PEELOFF_EXIT_TIMEOUT on a timeout or SCTP_CANT_STR_ASSOC, and
 * PEELOFF_EXIT_PEELOFF on any other message or error.
 */
int wait_comm_up(int fd, double timeout, sctp_assoc_t *assoc_id)
{
	struct timespec deadline = deadline_after(timeout);
	const struct sctp_assoc_change *change;
	struct message msg;
	int rc;

	for (;;) {
		rc = recv_message(fd, &msg, &deadline);
		if (rc <= 0)
			return report_missing_comm_up(rc, errno, timeout);
		if (!(msg.flags & MSG_NOTIFICATION)) {
			log_error("wait for SCTP_COMM_UP: expected an SCTP_ASSOC_CHANGE notification, received %zu bytes of data",
				  msg.len);
			return PEELOFF_EXIT_PEELOFF;
		}
		log_notification("wait for SCTP_COMM_UP", &msg);
		change = assoc_change_of(&msg);
		if (change)
			return check_comm_up(change, assoc_id);
	}
}

/* Send one message with sctp_sendmsg(3) to @to, which may be NULL. Returns 0 or -1 with errno. */
int send_message(int fd, const struct sockaddr_storage *to, socklen_t to_len,
		 const char *data, size_t len)
{
	int n;

	n = sctp_sendmsg(fd, data, len, (struct sockaddr *)to, to ? to_len : 0, 0, 0, 0, 0, 0);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/*
 * Give the peer up to @timeout seconds to close the association first, so
 * that a client still busy with the reply (or with sctp_peeloff) does not
 * see its association vanish. A one-to-one socket reports the peer's
 * SHUTDOWN as POLLRDHUP. A peeled-off socket gets readable when the
 * SCTP_SHUTDOWN_COMP notification arrives, because it inherited the
 * association events of the listening socket.
 */
void wait_for_peer_close(int fd, const char *peer_text, double timeout)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
	struct timespec deadline = deadline_after(timeout);
	int rc;

	do {
		rc = poll(&pfd, 1, deadline_ms_left(&deadline));
	} while (rc < 0 && errno == EINTR);
	if (rc > 0)
		log_verbose("%s: the client closed (poll revents 0x%x)", peer_text, pfd.revents);
	else if (rc == 0)
		log_verbose("%s: the client did not close within %g s", peer_text, timeout);
	else
		log_errno(errno, "%s: poll for the client to close", peer_text);
}

/* Wait until @fd is readable. Fails with ETIMEDOUT when @deadline (NULL: never) passes first. */
static int wait_readable(int fd, const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int rc;

	if (!deadline)
		return 0;
	do {
		rc = poll(&pfd, 1, deadline_ms_left(deadline));
	} while (rc < 0 && errno == EINTR);
	if (rc == 0)
		errno = ETIMEDOUT;
	return rc > 0 ? 0 : -1;
}

/*
 * Receive one whole message (up to MSG_EOR) on @fd, waiting until @deadline
 * (NULL: forever). Returns 1, 0 when the peer shut the association down, or
 * -1 with errno set (ETIMEDOUT when the deadline passed).
 */
int recv_message(int fd, struct message *msg, const struct timespec *deadline)
{
	ssize_t n;

	memset(&msg->sinfo, 0, sizeof(msg->sinfo));
	msg->len = 0;
	do {
		if (wait_readable(fd, deadline) < 0)
			return -1;
		msg->from_len = sizeof(msg->from);
		msg->flags = 0;
		n = sctp_recvmsg(fd, msg->data + msg->len, MESSAGE_MAX - msg->len,
				 (struct sockaddr *)&msg->from, &msg->from_len, &msg->sinfo,
				 &msg->flags);
		if (n < 0 && (errno == EINTR || (errno == EAGAIN && deadline)))
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;
		msg->len += n;
	} while (!(msg->flags & MSG_EOR) && msg->len < MESSAGE_MAX);
	msg->data[msg->len] = '\0';
	return 1;
}

/* Like recv_message(), but skip notifications (logged with -v). */
int recv_data(int fd, struct message *msg, const struct timespec *deadline)
{
	int rc;

	for (;;) {
		rc = recv_message(fd, msg, deadline);
		if (rc <= 0 || !(msg->flags & MSG_NOTIFICATION))
			return rc;
		log_notification("skipped", msg);
	}
}

/* Print why recv_message() or recv_data() returned @rc (<= 0) with @err. */
void log_recv_failure(int rc, int err, double timeout, const char *peer_text, const char *step)
{
	const char *sep = peer_text ? ": " : "";

	if (!peer_text)
		peer_text = "";
	if (rc == 0)
		log_error("%s%s%s: the peer shut the association down", peer_text, sep, step);
	else if (err == ETIMEDOUT)
		log_error("%s%s%s: timed out after %g s", peer_text, sep, step, timeout);
	else
		log_error("%s%s%s: %s", peer_text, sep, step, strerror(err));
}

/* Return the SCTP_ASSOC_CHANGE notification in @msg, or NULL for any other message. */
const struct sctp_assoc_change *assoc_change_of(const struct message *msg)
{
	const union sctp_notification *notification = (const void *)msg->data;

	if (!(msg->flags & MSG_NOTIFICATION) || msg->len < sizeof(struct sctp_assoc_change) ||
	    notification->sn_header.sn_type != SCTP_ASSOC_CHANGE)
		return NULL;
	return &notification->sn_assoc_change;
}

const char *assoc_state_name(unsigned int state)
{
	switch (state) {
	case SCTP_COMM_UP:
		return "SCTP_COMM_UP";
	case SCTP_COMM_LOST:
		return "SCTP_COMM_LOST";
	case SCTP_RESTART:
		return "SCTP_RESTART";
	case SCTP_SHUTDOWN_COMP:
		return "SCTP_SHUTDOWN_COMP";
	case SCTP_CANT_STR_ASSOC:
		return "SCTP_CANT_STR_ASSOC";
	default:
		return "an unknown association state";
	}
}

static const char *notification_name(unsigned int type)
{
	switch (type) {
	case SCTP_ASSOC_CHANGE:
		return "SCTP_ASSOC_CHANGE";
	case SCTP_PEER_ADDR_CHANGE:
		return "SCTP_PEER_ADDR_CHANGE";
	case SCTP_SEND_FAILED:
		return "SCTP_SEND_FAILED";
	case SCTP_REMOTE_ERROR:
		return "SCTP_REMOTE_ERROR";
	case SCTP_SHUTDOWN_EVENT:
		return "SCTP_SHUTDOWN_EVENT";
	case SCTP_PARTIAL_DELIVERY_EVENT:
		return "SCTP_PARTIAL_DELIVERY_EVENT";
	case SCTP_ADAPTATION_INDICATION:
		return "SCTP_ADAPTATION_INDICATION";
	case SCTP_AUTHENTICATION_EVENT:
		return "SCTP_AUTHENTICATION_EVENT";
	case SCTP_SENDER_DRY_EVENT:
		return "SCTP_SENDER_DRY_EVENT";
	default:
		return "unknown notification";
	}
}

/* With -v, print the notification in @msg, prefixed by @where. */
void log_notification(const char *where, const struct message *msg)
{
	const union sctp_notification *notification = (const void *)msg->data;
	const struct sctp_assoc_change *change = assoc_change_of(msg);

	if (change) {
		log_verbose("%s: SCTP_ASSOC_CHANGE %s, association %d, error %u, streams out %u in %u",
			    where, assoc_state_name(change->sac_state), change->sac_assoc_id,
			    change->sac_error, change->sac_outbound_streams,
			    change->sac_inbound_streams);
		return;
	}
	if (msg->len < sizeof(notification->sn_header)) {
		log_verbose("%s: notification of only %zu bytes", where, msg->len);
		return;
	}
	log_verbose("%s: %s (type 0x%x, %zu bytes)", where,
		    notification_name(notification->sn_header.sn_type),
		    notification->sn_header.sn_type, msg->len);
}

/* Return the name of the socket option that contains the IP options for @family. */
const char *ipopt_name(int family)
{
	return family == AF_INET6 ? "IPV6_HOPOPTS" : "IP_OPTIONS";
}

/*
 * Write the IP options of @fd (IP_OPTIONS for IPv4, the IPV6_HOPOPTS header
 * for IPv6) as lower-case hex into @hex, or "none" when there are none.
 * @size must be at least IPOPT_HEX_MAX. Returns 0, or -1 with errno.
 */
int ipopt_hex(int fd, int family, char *hex, size_t size)
{
	unsigned char opt[IPOPT_MAX];
	socklen_t len = sizeof(opt);
	socklen_t i;
	int rc;

	if (family == AF_INET6)
		rc = getsockopt(fd, IPPROTO_IPV6, IPV6_HOPOPTS, opt, &len);
	else
		rc = getsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, &len);
	if (rc < 0)
		return -1;
	if (len == 0) {
		snprintf(hex, size, "none");
		return 0;
	}
	for (i = 0; i < len && 2 * (size_t)i + 2 < size; i++)
		snprintf(hex + 2 * i, 3, "%02x", opt[i]);
	return 0;
}
