/*
 * frameids.c: see frameids.h.
 */
#include "ingest/frameids.h"

#include <string.h>

static bool
contains(const uint8_t *raw, size_t len, const char *s)
{
	return memmem(raw, len, s, strlen(s)) != NULL;
}

bool
frame_ids(const struct session_frame *f, struct frame_ids *ids)
{
	const struct report_attr *imei;
	const char *id;
	const uint8_t *open;

	ids->n = 0;
	ids->fixed = false;
	ids->imei[0] = '\0';
	if (f->result == REPORT_ERROR)
		return false;
	id = f->report != NULL && f->report->device[0] != '\0' ?
	    f->report->device : f->device;
	if (id == NULL || id[0] == '\0' || !contains(f->raw, f->len, id))
		return false;
	ids->id[ids->n++] = id;
	if (f->report != NULL &&
	    (imei = report_attr(f->report, "imei")) != NULL &&
	    imei->type == REPORT_ATTR_STR && imei->len > 0 &&
	    imei->len < REPORT_ID_MAX &&
	    (strlen(id) != imei->len || memcmp(id, imei->s, imei->len) != 0)) {
		memcpy(ids->imei, imei->s, imei->len);
		ids->imei[imei->len] = '\0';
		ids->id[ids->n++] = ids->imei;
	}
	if (f->proto == SESSION_TK103 &&
	    (open = memchr(f->raw, '(', f->len)) != NULL) {
		size_t at = (size_t)(open - f->raw) + 1, n = strlen(id);

		ids->fixed = at + n < f->len && memcmp(f->raw + at, id, n) == 0 &&
		    f->raw[at + n] != ',';
	}
	return true;
}

enum report_proto
frame_proto(const struct session_frame *f)
{
	return f->proto == SESSION_TK103 ? REPORT_PROTO_TK103 :
	    REPORT_PROTO_GPS103;
}
