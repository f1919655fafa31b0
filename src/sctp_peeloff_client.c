// SPDX-License-Identifier: GPL-2.0
/*
 * sctp_peeloff_client: create an SCTP association on a one-to-many
 * (SOCK_SEQPACKET) socket and peel it off with sctp_peeloff(3). Then send
 * one byte on the peeled-off socket, receive the reply there and check three
 * oracles:
 * (a) the MLS level of the peer context the server reports equals -e LEVEL,
 * (b) the IP options of the peeled-off socket equal the server's, and
 * (c) getpeercon() on the peeled-off socket succeeds with level -p LEVEL.
 *
 * Kernels v4.17 to v5.17 leave a socket peeled off on the client side
 * without a label and peer label. Oracle (c) names that bug directly, so it
 * is printed even when the send or the receive on the peeled-off socket
 * failed. The exit code is then that step's.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <selinux/selinux.h>

#include "common.h"

static const char *const operand_help[] = {
	"  ADDR        numeric IPv4 or IPv6 address of the server; the socket family follows it",
	"  PORT        SCTP port of the server, 1 to 65535",
	NULL
};

static const struct program program = {
	.name = "sctp_peeloff_client",
	.option_synopsis = "[-x|-n] [-b ADDR] [-t SECONDS] [-e LEVEL] [-p LEVEL] [-v]",
	.operands = "ADDR PORT",
	.summary = "Peel a client SCTP association off with sctp_peeloff(3) and check its labels.",
	.optstring = ":xnb:t:e:p:vh",
	.operand_help = operand_help,
	.has_mode = false,
	.is_server = false,
};

struct peeloff_client {
	struct options opts;
	int fd;				/* one-to-many socket */
	int peeled_fd;
	sctp_assoc_t assoc_id;
	char *own_context;
	char *expect_level;
	char *expect_peer_level;
	struct message reply_msg;
	struct reply reply;
};

static void open_socket(struct peeloff_client *client)
{
	const struct options *opts = &client->opts;

	client->fd = open_client_socket(opts, SOCK_SEQPACKET);
	client->own_context = NULL;
	if (!opts->expect_level || !opts->expect_peer_level)
		client->own_context = own_context_or_exit();
	client->expect_level = expected_level(opts->expect_level, client->own_context);
	client->expect_peer_level = expected_level(opts->expect_peer_level, client->own_context);
	log_own_context();
	log_verbose("expected level %s, expected peer level %s", client->expect_level,
		    client->expect_peer_level);
}

/* Wait for SCTP_COMM_UP on the one-to-many socket and take the association id from it. */
static int wait_association(struct peeloff_client *client)
{
	sctp_assoc_t connectx_id = client->assoc_id;
	int code;

	code = wait_comm_up(client->fd, client->opts.timeout, &client->assoc_id);
	if (code != PEELOFF_EXIT_PASS)
		return code;
	log_verbose("association %d is up", client->assoc_id);
	if (client->opts.method == ASSOC_CONNECTX && connectx_id != client->assoc_id)
		log_verbose("sctp_connectx returned association id %d", connectx_id);
	return PEELOFF_EXIT_PASS;
}

static int peel_off(struct peeloff_client *client)
{
	int family = client->opts.addr.ss_family;

	if (set_sctp_events(client->fd, false, false) < 0) {
		log_errno(errno, "setsockopt SCTP_EVENTS (all events off)");
		return PEELOFF_EXIT_SETUP;
	}
	log_socket(client->fd, family, "one-to-many socket");
	client->peeled_fd = sctp_peeloff(client->fd, client->assoc_id);
	if (client->peeled_fd < 0) {
		log_errno(errno, "sctp_peeloff association %d", client->assoc_id);
		return PEELOFF_EXIT_PEELOFF;
	}
	log_verbose("association %d peeled off to fd %d", client->assoc_id, client->peeled_fd);
	log_socket(client->peeled_fd, family, "peeled-off socket");
	return PEELOFF_EXIT_PASS;
}

/*
 * Send the request on the peeled-off socket (with -n the first sctp_sendmsg
 * already carried it) and receive the reply there. A reply that arrived
 * before the peeloff moved to the peeled-off socket with the association.
 */
static int exchange_on_peeled_socket(struct peeloff_client *client)
{
	struct timespec deadline;
	int rc;

	if (client->opts.method != ASSOC_IMPLICIT &&
	    send_message(client->peeled_fd, NULL, 0, REQUEST_BYTE, 1) < 0) {
		log_errno(errno, "send on peeled-off socket");
		check_peer_oracle(client->peeled_fd, client->expect_peer_level);
		return PEELOFF_EXIT_SEND;
	}
	deadline = deadline_after(client->opts.timeout);
	rc = recv_data(client->peeled_fd, &client->reply_msg, &deadline);
	if (rc <= 0) {
		log_recv_failure(rc, errno, client->opts.timeout, NULL,
				 "receive reply on peeled-off socket");
		check_peer_oracle(client->peeled_fd, client->expect_peer_level);
		return PEELOFF_EXIT_RECV;
	}
	log_reply("reply", client->reply_msg.data);
	parse_reply(client->reply_msg.data, &client->reply);
	return PEELOFF_EXIT_PASS;
}

static int check_oracles(struct peeloff_client *client)
{
	int family = client->opts.addr.ss_family;
	bool level_ok, ipopt_ok, peer_ok;

	level_ok = check_level_oracle(&client->reply, client->expect_level);
	ipopt_ok = check_ipopt_oracle(&client->reply, client->peeled_fd, family);
	peer_ok = check_peer_oracle(client->peeled_fd, client->expect_peer_level);
	return level_ok && ipopt_ok && peer_ok ? PEELOFF_EXIT_PASS : PEELOFF_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct peeloff_client client = { .assoc_id = 0 };
	int code;

	parse_options(argc, argv, &program, &client.opts);
	open_socket(&client);
	code = start_association(client.fd, &client.opts, &client.assoc_id);
	if (code != PEELOFF_EXIT_PASS)
		goto out_close_socket;
	code = wait_association(&client);
	if (code != PEELOFF_EXIT_PASS)
		goto out_close_socket;
	code = peel_off(&client);
	if (code != PEELOFF_EXIT_PASS)
		goto out_close_socket;
	code = exchange_on_peeled_socket(&client);
	if (code == PEELOFF_EXIT_PASS)
		code = check_oracles(&client);
	close(client.peeled_fd);
out_close_socket:
	close(client.fd);
	free(client.expect_peer_level);
	free(client.expect_level);
	freecon(client.own_context);
	return code;
}
