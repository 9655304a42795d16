/*
 * report.h: one decoded device report, as the decoders fill it and the
 * writers (stream entry, --decode JSON) read it.
 *
 * A report is a fixed-size value: decoders never allocate.  String
 * attributes either borrow from the frame being decoded (the caller keeps
 * the frame alive while it uses the report) or live in the report's own
 * arena.  report_format turns a report into the ordered list of SPEC fields.
 */
#ifndef GA_INGEST_REPORT_H
#define GA_INGEST_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_ID_MAX     40	/* device id bytes, NUL included */
#define REPORT_MAX_ATTRS  64	/* BS50 alone has up to 24 cells + 9 probes */
#define REPORT_ARENA      1024	/* composed strings: cell and WiFi lists */
#define REPORT_REPLY_MAX  64	/* longest ack: "**,imei:<IMEI>,E;" */

enum report_proto { REPORT_PROTO_TK103, REPORT_PROTO_GPS103 };

/* Normalized alarms (protocols/TK103.md section 4), one bit each. */
enum report_alarm {
	REPORT_ALARM_SOS = 1u << 0,
	REPORT_ALARM_POWER_CUT = 1u << 1,
	REPORT_ALARM_LOW_POWER = 1u << 2,
	REPORT_ALARM_LOW_BATTERY = 1u << 3,
	REPORT_ALARM_OVERSPEED = 1u << 4,
	REPORT_ALARM_LOWSPEED = 1u << 5,
	REPORT_ALARM_VIBRATION = 1u << 6,
	REPORT_ALARM_MOVEMENT = 1u << 7,
	REPORT_ALARM_GEOFENCE = 1u << 8,
	REPORT_ALARM_GEOFENCE_EXIT = 1u << 9,
	REPORT_ALARM_ACCIDENT = 1u << 10,
	REPORT_ALARM_DOOR = 1u << 11,
	REPORT_ALARM_REMOVING = 1u << 12,
	REPORT_ALARM_TAMPERING = 1u << 13,
	REPORT_ALARM_IDLE = 1u << 14,
	REPORT_ALARM_HARD_ACCELERATION = 1u << 15,
	REPORT_ALARM_HARD_BRAKING = 1u << 16,
	REPORT_ALARM_TEMPERATURE = 1u << 17,
	REPORT_ALARM_BONNET = 1u << 18,
	REPORT_ALARM_FOOT_BRAKE = 1u << 19,
	REPORT_ALARM_FUEL_LEAK = 1u << 20,
	REPORT_ALARM_FAULT = 1u << 21,
};

enum report_attr_type {
	REPORT_ATTR_INT,	/* i, printed as an integer */
	REPORT_ATTR_NUM,	/* d, printed with `decimals`, trailing zeros cut */
	REPORT_ATTR_BOOL,	/* i, printed 0 or 1 */
	REPORT_ATTR_STR,	/* s[0..len), printed escaped */
};

struct report_attr {
	const char *key;	/* static snake_case name */
	enum report_attr_type type;
	int decimals;
	int64_t i;
	double d;
	const char *s;
	size_t len;
};

struct report {
	char device[REPORT_ID_MAX];	/* as reported; "" when unknown */
	enum report_proto proto;
	int64_t recv_ms;	/* server receive time */
	bool has_time;		/* false: no device time, `time` = recv */
	int64_t time_ms;	/* fix (or device) time, UTC */
	bool valid;		/* GPS fix valid */
	bool has_fix;		/* lat/lon present */
	double lat, lon;
	bool has_speed;
	double speed;		/* km/h */
	bool has_course;
	double course;		/* degrees */
	uint32_t alarms;	/* enum report_alarm bits */
	int nattrs;
	struct report_attr attrs[REPORT_MAX_ATTRS];
	size_t arena_used;
	char arena[REPORT_ARENA];
};

/* Bytes a decoder wants sent back to the device (len 0: nothing). */
struct reply {
	size_t len;
	char buf[REPORT_REPLY_MAX];
};

/* What a decoder returns. */
enum report_result {
	REPORT_ERROR = -1,	/* rejected; err holds the reason */
	REPORT_NONE = 0,	/* valid frame, no record (login, heartbeat) */
	REPORT_OK = 1,		/* a record in *report */
};

/*
 * Resets r for a new decode: no fields, no attributes, empty arena.  Cheap:
 * it does not clear the attribute array.
 */
void report_init(struct report *r, enum report_proto proto, int64_t recv_ms);

/*
 * Attribute setters.  Each returns 0, or -1 when the attribute array (or
 * the arena, for report_add_strcpy) is full; the attribute is then left out.
 * key must be a static string.  report_add_str borrows s; report_add_strcpy
 * copies it into the arena.
 */
int report_add_int(struct report *r, const char *key, int64_t v);
int report_add_num(struct report *r, const char *key, double v, int decimals);
int report_add_bool(struct report *r, const char *key, bool v);
int report_add_str(struct report *r, const char *key, const char *s, size_t len);
int report_add_strcpy(struct report *r, const char *key, const char *s, size_t len);

/*
 * Reserves n bytes of the arena for a string the caller composes in place.
 * Returns the space, or NULL when the arena has fewer than n bytes left.
 */
char *report_arena(struct report *r, size_t n);

/* Returns the attribute named key, or NULL. */
const struct report_attr *report_attr(const struct report *r, const char *key);

/* Sets the device id (cut to REPORT_ID_MAX - 1 bytes). */
void report_set_device(struct report *r, const char *id, size_t len);

/* Sets the reply bytes (cut to REPORT_REPLY_MAX). */
void reply_set(struct reply *reply, const char *s, size_t len);

/*
 * Writes the alarm names of `alarms`, joined by ',', into buf.  Returns
 * the length, 0 when there is none.
 */
size_t report_alarm_names(uint32_t alarms, char *buf, size_t size);

/* Returns the bit for a normalized alarm name, or 0 when unknown. */
uint32_t report_alarm_bit(const char *name, size_t len);

/* Protocol name as on the stream: "tk103" or "gps103". */
const char *report_proto_name(enum report_proto proto);

/*
 * ---- Formatting into SPEC fields ----
 *
 * report_format writes the report's fields, in SPEC order (device, proto,
 * time, valid, lat, lon, speed, course, alarm, then the attributes in the
 * order decoded), into f.  `raw`, `recv`, `transport` and `peer` are the
 * writer's to add.  Values are f's own copies, except string attributes
 * that need no escaping: those borrow from the report (and so from the
 * frame it borrows from), so keep both alive while using f.  Values are
 * not NUL-terminated: use len.
 */
#define REPORT_MAX_FIELDS (REPORT_MAX_ATTRS + 12)
#define REPORT_FMT_BUF    (REPORT_ARENA + 4096)

struct report_field {
	const char *key;
	const char *val;
	size_t len;
	bool number;		/* a JSON number, not a string */
};

struct report_fields {
	int n;
	struct report_field f[REPORT_MAX_FIELDS];
	size_t used;
	char buf[REPORT_FMT_BUF];
};

/*
 * Fills f from r.  String values are copied escaped (\xNN).  Returns 0, or
 * -1 when the report does not fit (fields are then cut, never corrupted).
 */
int report_format(const struct report *r, struct report_fields *f);

/*
 * Appends one more field (copying val, not escaping it).  Returns 0, or -1
 * when f is full.
 */
int report_fields_add(struct report_fields *f, const char *key,
    const char *val, size_t len, bool number);

/*
 * Writes v with exactly `decimals` digits after the point (0-9), and, when
 * trim is set, without trailing zeros (nor a trailing point).  Returns the
 * length written; buf needs 32 bytes.
 */
size_t report_fmt_num(char *buf, double v, int decimals, bool trim);

#endif
