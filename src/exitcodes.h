/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exit codes of sctp_server, sctp_peeloff_server, sctp_client and
 * sctp_peeloff_client. src/Makefile turns every PEELOFF_EXIT_* line of this
 * file into $(O)/exitcodes.sh, so this is the only copy of the table: keep
 * one "#define PEELOFF_EXIT_<NAME> <number>" per line.
 */
#ifndef PEELOFF_EXITCODES_H
#define PEELOFF_EXITCODES_H

/* The round trip completed and every oracle held. */
#define PEELOFF_EXIT_PASS	0
/* A step succeeded but an oracle did not hold (level, IP option, peer label). */
#define PEELOFF_EXIT_FAIL	1
/* Invalid option or argument. */
#define PEELOFF_EXIT_USAGE	2
/* A setup call failed: getaddrinfo, socket, setsockopt, bind, listen, getcon, readiness file. */
#define PEELOFF_EXIT_SETUP	3
/* SCTP is not available: socket() failed with EPROTONOSUPPORT or ESOCKTNOSUPPORT. */
#define PEELOFF_EXIT_SKIP	4
/* The association did not come up within the timeout, as when the INIT is dropped. */
#define PEELOFF_EXIT_TIMEOUT	5
/* The association failed with ENOSPC: NetLabel cannot encode the level in the IP option. */
#define PEELOFF_EXIT_NOSPC	6
/* connect, sctp_connectx or the implicit association failed with EACCES or EPERM. */
#define PEELOFF_EXIT_DENIED	7
/* The association failed with any other errno. */
#define PEELOFF_EXIT_CONNECT	8
/* No association notification (another message arrived) or sctp_peeloff() failed. */
#define PEELOFF_EXIT_PEELOFF	9
/* Sending on the data socket failed (the peeled-off socket for sctp_peeloff_client). */
#define PEELOFF_EXIT_SEND	10
/* Receiving the reply failed or timed out. */
#define PEELOFF_EXIT_RECV	11

#endif /* PEELOFF_EXITCODES_H */
