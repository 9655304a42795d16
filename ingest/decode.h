/*
 * decode.h: the offline `--decode` mode of geoalarm-ingest (SPEC, section
 * geoalarm-ingest), also behind `geoalarm decode`.
 *
 * Raw device traffic in, one JSON object per frame out, one per line:
 *
 *   {"frame":"<raw, \xNN-escaped>","report":{...}|null,
 *    "reply":"<bytes sent back, escaped>"|null,"error":"<reason>"|null}
 *
 * `report` holds the stream entry's fields (report_format: same names,
 * order and number text, numbers as JSON numbers) without raw, recv,
 * transport and peer.  Nothing here touches the network or Redis; the
 * framing, detection and decoding are session.c's, exactly as the daemon
 * runs them, with the wall clock as receive time.
 */
#ifndef GA_INGEST_DECODE_H
#define GA_INGEST_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* SPEC's --max-frame default. */
#define DECODE_MAX_FRAME 2048

/*
 * Decodes files[0..nfiles) (stdin when nfiles is 0) and prints to out.
 * TCP mode (udp false): each file is one connection, framed as a stream;
 * when the session would close the connection (garbage, over-long frame,
 * neither protocol) the rest of that file is skipped, as the daemon would
 * drop it.  UDP mode: each file is one datagram.  max_frame bounds frames
 * (0: DECODE_MAX_FRAME).
 *
 * Returns 0, or -1 with a one-line reason in err when a file cannot be
 * read or out cannot be written (output for earlier files stays printed).
 * Undecodable input is not an error: it prints lines with "error".
 */
int decode_run(char *const *files, int nfiles, bool udp, size_t max_frame,
    FILE *out, char *err, size_t errlen);

/*
 * Decodes one already open input as one connection (or one datagram when
 * udp), printing to out.  name is used in error messages.  Returns 0, or
 * -1 with a reason in err on a read or write error.  in stays open.
 */
int decode_stream(FILE *in, const char *name, bool udp, size_t max_frame,
    FILE *out, char *err, size_t errlen);

#endif
