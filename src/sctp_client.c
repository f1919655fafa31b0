// SPDX-License-Identifier: GPL-2.0
/*
 * sctp_client: create an SCTP association to sctp_server or
 * sctp_peeloff_server, send one byte, receive the reply and check two
 * oracles: (a) the MLS level of the peer context the server reports equals
 * -e LEVEL (default: the own level), and (b) the IP options of the client's
 * socket equal the server's. Prints one "oracle ..." line per oracle.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <selinux/selinux.h>

#include "common.h"

static const char *const operand_help[] = {
	"  stream|seq  stream: one-to-one SOCK_STREAM socket; seq: one-to-many SOCK_SEQPACKET",
	"  ADDR        numeric IPv4 or IPv6 address of the server; the socket family follows it",
	"  PORT        SCTP port of the server, 1 to 65535",
	NULL
};

static const struct program program = {
	.name = "sctp_client",
	.option_synopsis = "[-x|-n] [-b ADDR] [-t SECONDS] [-e LEVEL] [-v]",
	.operands = "stream|seq ADDR PORT",
	.summary = "Send one byte over an SCTP association and check the server's reply.",
	.optstring = ":xnb:t:e:vh",
	.operand_help = operand_help,
	.has_mode = true,
	.is_server = false,
};

struct client {
	struct options opts;
	int fd;
	char *own_context;
	char *expect_level;
	struct message reply_msg;
	struct reply reply;
};

static void open_socket(struct client *client)
{
	const struct options *opts = &client->opts;

	client->fd = open_client_socket(opts, opts->sock_type);
	client->own_context = NULL;
	if (!opts->expect_level)
		client->own_context = own_context_or_exit();
	client->expect_level = expected_level(opts->expect_level, client->own_context);
	log_own_context();
	log_verbose("expected level %s", client->expect_level);
	log_socket(client->fd, opts->addr.ss_family, "client socket");
}

/* A one-to-one socket has one peer, but a one-to-many socket needs the address. */
static int send_request(const struct client *client)
{
	const struct options *opts = &client->opts;

	if (opts->sock_type == SOCK_STREAM)
		return send_message(client->fd, NULL, 0, REQUEST_BYTE, 1);
	return send_message(client->fd, &opts->addr, opts->addr_len, REQUEST_BYTE, 1);
}

/* Send the request (unless -n sent it already) and receive the reply. */
static int exchange(struct client *client)
{
	const struct options *opts = &client->opts;
	struct timespec deadline;
	sctp_assoc_t assoc_id;
	int code, rc;

	if (opts->method == ASSOC_IMPLICIT) {
		/* Tell a dropped INIT (TIMEOUT) apart from a lost reply (RECV). */
		code = wait_comm_up(client->fd, opts->timeout, &assoc_id);
		if (code != PEELOFF_EXIT_PASS)
			return code;
		log_verbose("association %d is up", assoc_id);
	} else if (send_request(client) < 0) {
		log_errno(errno, "send request");
		return PEELOFF_EXIT_SEND;
	}
	deadline = deadline_after(opts->timeout);
	rc = recv_data(client->fd, &client->reply_msg, &deadline);
	if (rc <= 0) {
		log_recv_failure(rc, errno, opts->timeout, NULL, "receive reply");
		return PEELOFF_EXIT_RECV;
	}
	log_socket(client->fd, opts->addr.ss_family, "client socket");
	log_reply("reply", client->reply_msg.data);
	parse_reply(client->reply_msg.data, &client->reply);
	return PEELOFF_EXIT_PASS;
}

static int check_oracles(struct client *client)
{
	bool level_ok, ipopt_ok;

	level_ok = check_level_oracle(&client->reply, client->expect_level);
	ipopt_ok = check_ipopt_oracle(&client->reply, client->fd, client->opts.addr.ss_family);
	return level_ok && ipopt_ok ? PEELOFF_EXIT_PASS : PEELOFF_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct client client;
	sctp_assoc_t assoc_id = 0;
	int code;

	parse_options(argc, argv, &program, &client.opts);
	open_socket(&client);
	code = start_association(client.fd, &client.opts, &assoc_id);
	if (code != PEELOFF_EXIT_PASS)
		goto out_close_socket;
	code = exchange(&client);
	if (code != PEELOFF_EXIT_PASS)
		goto out_close_socket;
	code = check_oracles(&client);
out_close_socket:
	close(client.fd);
	free(client.expect_level);
	freecon(client.own_context);
	return code;
}
