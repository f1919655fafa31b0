// SPDX-License-Identifier: GPL-2.0
/*
 * sctp_server: reply to every SCTP client with the peer context and the IP
 * options of the socket that serves it.
 *
 * In stream mode the server listens on a one-to-one (SOCK_STREAM) socket and
 * the reply describes each accepted socket. In seq mode it listens on a
 * one-to-many (SOCK_SEQPACKET) socket and the reply describes that socket
 * itself, whose peer label the kernel fixes at its first association. The
 * server runs until it is killed. An error on one association is logged to
 * stderr and the server goes on with the next.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* Room for "association <id> from <address>". */
#define WHO_MAX	(SOCKADDR_TEXT_MAX + 40)

static const char *const operand_help[] = {
	"  stream|seq  stream: one-to-one SOCK_STREAM socket, reply on each accepted socket;",
	"              seq: one-to-many SOCK_SEQPACKET socket, reply on the listening socket",
	"  ADDR        numeric IPv4 or IPv6 address to listen on; the socket family follows it",
	"  PORT        SCTP port to listen on, 1 to 65535",
	NULL
};

static const struct program program = {
	.name = "sctp_server",
	.option_synopsis = "[-f FILE] [-t SECONDS] [-v]",
	.operands = "stream|seq ADDR PORT",
	.summary = "Reply to every SCTP client with the peer context and IP options of its socket.",
	.optstring = ":f:t:vh",
	.operand_help = operand_help,
	.has_mode = true,
	.is_server = true,
};

static void serve_stream_client(int conn, const struct options *opts, const char *peer_text)
{
	log_socket(conn, opts->addr.ss_family, peer_text);
	if (set_timeout(conn, SO_RCVTIMEO, opts->timeout) < 0) {
		log_errno(errno, "%s: setsockopt SO_RCVTIMEO", peer_text);
		return;
	}
	serve_one_to_one(conn, opts, peer_text, "");
}

static __noreturn void run_stream_server(const struct options *opts)
{
	char peer_text[WHO_MAX], addr[SOCKADDR_TEXT_MAX];
	struct sockaddr_storage peer;
	unsigned int errors = 0;
	socklen_t peer_len;
	int fd, conn;

	fd = open_listener(opts, false);
	for (;;) {
		peer_len = sizeof(peer);
		conn = accept(fd, (struct sockaddr *)&peer, &peer_len);
		if (conn < 0) {
			log_errno(errno, "accept");
			note_loop_error(&errors, "accept");
			continue;
		}
		errors = 0;
		snprintf(peer_text, sizeof(peer_text), "client %s", format_sockaddr(&peer, addr, sizeof(addr)));
		log_verbose("%s: accepted, fd %d", peer_text, conn);
		serve_stream_client(conn, opts, peer_text);
		close(conn);
	}
}

/* Send @reply on the association that @request came from. */
static int reply_to_association(int fd, const struct message *request, const char *reply,
				size_t len)
{
	struct sctp_sndrcvinfo sinfo;

	/* Without data I/O events there is no association id: use the address. */
	if (!request->sinfo.sinfo_assoc_id)
		return send_message(fd, &request->from, request->from_len, reply, len);
	memset(&sinfo, 0, sizeof(sinfo));
	sinfo.sinfo_assoc_id = request->sinfo.sinfo_assoc_id;
	sinfo.sinfo_stream = request->sinfo.sinfo_stream;
	/* Unlike a send to an address, this never starts a new association. */
	return sctp_send(fd, reply, len, &sinfo, 0) == (int)len ? 0 : -1;
}

static void serve_seq_request(int fd, const struct options *opts, const struct message *request)
{
	char peer_text[WHO_MAX], addr[SOCKADDR_TEXT_MAX];
	char reply[MESSAGE_MAX];
	size_t len;

	snprintf(peer_text, sizeof(peer_text), "association %d from %s", request->sinfo.sinfo_assoc_id,
		 format_sockaddr(&request->from, addr, sizeof(addr)));
	log_verbose("%s: received %zu bytes", peer_text, request->len);
	/* getpeercon() of the one-to-many socket: its peer label, not the association's. */
	len = build_reply(fd, opts->addr.ss_family, reply, sizeof(reply));
	if (reply_to_association(fd, request, reply, len) < 0) {
		log_errno(errno, "%s: send reply", peer_text);
		return;
	}
	log_reply(peer_text, reply);
}

static __noreturn void run_seq_server(const struct options *opts)
{
	unsigned int errors = 0;
	struct message request;
	int fd, rc;

	fd = open_listener(opts, true);
	for (;;) {
		rc = recv_message(fd, &request, NULL);
		if (rc <= 0) {
			log_recv_failure(rc, errno, opts->timeout, NULL,
					 "sctp_recvmsg on the listening socket");
			note_loop_error(&errors, "sctp_recvmsg on the listening socket");
			continue;
		}
		errors = 0;
		if (request.flags & MSG_NOTIFICATION) {
			log_notification("listening socket", &request);
			continue;
		}
		serve_seq_request(fd, opts, &request);
	}
}

int main(int argc, char **argv)
{
	struct options opts;

	parse_options(argc, argv, &program, &opts);
	if (opts.sock_type == SOCK_STREAM)
		run_stream_server(&opts);
	run_seq_server(&opts);
}
