/*
 * photo.h: assembling a GPS103 photo from its packets
 * (protocols/TK103.md 3.8).
 *
 * A report with keyword "vt<N>" announces N packets; "vr" packets carry
 * the JPEG in hex; the packet with index + 1 >= N completes it.  The
 * decoder (gps103.c) describes each part; this module keeps the bytes.
 * It is per connection, and allocated only while a photo is under way:
 * session.c creates it at the announce and frees it once the photo is
 * complete or dropped, so an idle session holds no photo memory.
 */
#ifndef GA_INGEST_PHOTO_H
#define GA_INGEST_PHOTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/report.h"

/*
 * The JPEG cap.  Traccar allows 32 MiB; a tracker's VGA snapshot is
 * 20-60 KiB, and the daemon must bound what one peer can make it hold.
 */
#define PHOTO_MAX_BYTES (256 * 1024)

struct photo;

/*
 * Returns a new photo of N = packets packets (> 0) holding at most cap
 * JPEG bytes; the caller frees it with photo_free.  Nothing is allocated
 * for the bytes until the first packet.
 */
struct photo *photo_new(int packets, size_t cap);

/* Frees p and its bytes; photo_free(NULL) does nothing. */
void photo_free(struct photo *p);

/*
 * Appends one data packet: hex[0..hexlen) is the JPEG part, still hex,
 * packet index and trailer already removed (gps103_photo_part).  Packets
 * are appended in arrival order, as Traccar does.  Returns 1 when this
 * packet completes the photo (index + 1 >= N), 0 when more are due, or -1
 * with a reason in err when the hex is malformed or the photo would pass
 * its cap; the photo is then unusable and the caller frees it.
 */
int photo_add(struct photo *p, unsigned index, const char *hex,
    size_t hexlen, char *err, size_t errlen);

/* Heap bytes p holds (struct, JPEG buffer, image text). */
size_t photo_memory(const struct photo *p);

/* The JPEG bytes so far (borrowed; valid until the next call on p). */
const uint8_t *photo_bytes(const struct photo *p, size_t *len);

/*
 * Fills r with the record of a complete photo: proto gps103, no fix, time
 * = recv_ms, device, and the attributes `image` (the JPEG as lowercase
 * hex) and `image_size` (JPEG bytes).  The image string lives in p: keep p
 * alive while r is used.
 */
void photo_report(struct photo *p, const char *device, int64_t recv_ms,
    struct report *r);

#endif
