// SPDX-License-Identifier: GPL-2.0
/*
 * sctp_peeloff_server: peel every new association off its one-to-many
 * (SOCK_SEQPACKET) listening socket with sctp_peeloff(3), receive the
 * client's byte on the peeled-off socket and reply there with that socket's
 * peer context and IP options.
 *
 * Association events stay enabled on the listening socket for the whole run,
 * so an association that comes up while another one is being served still
 * queues its SCTP_COMM_UP notification. The server runs until it is killed.
 * An error on one association is logged to stderr and the server goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"

/* Room for "association <id> from <address>". */
#define WHO_MAX	(SOCKADDR_TEXT_MAX + 40)

static const char *const operand_help[] = {
	"  ADDR        numeric IPv4 or IPv6 address to listen on; the socket family follows it",
	"  PORT        SCTP port to listen on, 1 to 65535",
	NULL
};

static const struct program program = {
	.name = "sctp_peeloff_server",
	.option_synopsis = "[-f FILE] [-t SECONDS] [-v]",
	.operands = "ADDR PORT",
	.summary = "Peel every SCTP association off with sctp_peeloff(3) and reply on the peeled-off socket.",
	.optstring = ":f:t:vh",
	.operand_help = operand_help,
	.has_mode = false,
	.is_server = true,
};

/* Name the association for messages: "association <id> from <peer address>". */
static void describe_association(int peeled, sctp_assoc_t assoc_id, char *peer_text, size_t size)
{
	char addr[SOCKADDR_TEXT_MAX];
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	if (getpeername(peeled, (struct sockaddr *)&peer, &len) < 0)
		snprintf(peer_text, size, "association %d", assoc_id);
	else
		snprintf(peer_text, size, "association %d from %s", assoc_id,
			 format_sockaddr(&peer, addr, sizeof(addr)));
}

static void serve_association(int fd, sctp_assoc_t assoc_id, const struct options *opts)
{
	char peer_text[WHO_MAX];
	int peeled;

	peeled = sctp_peeloff(fd, assoc_id);
	if (peeled < 0) {
		log_errno(errno, "association %d: sctp_peeloff", assoc_id);
		return;
	}
	describe_association(peeled, assoc_id, peer_text, sizeof(peer_text));
	log_verbose("%s: peeled off to fd %d", peer_text, peeled);
	log_socket(peeled, opts->addr.ss_family, peer_text);
	serve_one_to_one(peeled, opts, peer_text, " on peeled-off socket");
	close(peeled);
}

/* Serve the message @msg from the listening socket @fd: peel off new associations. */
static void handle_listener_message(int fd, const struct message *msg,
				    const struct options *opts)
{
	const struct sctp_assoc_change *change = assoc_change_of(msg);
	char addr[SOCKADDR_TEXT_MAX];

	if (!(msg->flags & MSG_NOTIFICATION)) {
		log_error("listening socket: %zu bytes of data from %s arrived before its association was peeled off; ignored",
			  msg->len, format_sockaddr(&msg->from, addr, sizeof(addr)));
		return;
	}
	log_notification("listening socket", msg);
	if (change && change->sac_state == SCTP_COMM_UP)
		serve_association(fd, change->sac_assoc_id, opts);
}

static __noreturn void run_peeloff_server(const struct options *opts)
{
	unsigned int errors = 0;
	struct message msg;
	int fd, rc;

	fd = open_listener(opts, false);
	for (;;) {
		rc = recv_message(fd, &msg, NULL);
		if (rc <= 0) {
			log_recv_failure(rc, errno, opts->timeout, NULL,
					 "sctp_recvmsg on the listening socket");
			note_loop_error(&errors, "sctp_recvmsg on the listening socket");
			continue;
		}
		errors = 0;
		handle_listener_message(fd, &msg, opts);
	}
}

int main(int argc, char **argv)
{
	struct options opts;

	parse_options(argc, argv, &program, &opts);
	run_peeloff_server(&opts);
}
