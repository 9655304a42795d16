/*
 * tk103_bms.c: the battery-management payloads BS50 and BS51 of the TK103
 * protocol (protocols/TK103.md sections 2.5.1 and 2.5.2).
 *
 * Both carry the state of a battery pack as hex: BS50 one fixed
 * little-endian block, BS51 keyed groups.  The bytes are decoded into a
 * local buffer with parse_hexbytes, never read past the body's end, and
 * turned into report attributes; splitting the message is tk103.c's job.
 */
#include "ingest/tk103_bms.h"

#include <string.h>

#include "ingest/parse.h"

static const char *const battery_keys[24] = {
	"battery1", "battery2", "battery3", "battery4", "battery5",
	"battery6", "battery7", "battery8", "battery9", "battery10",
	"battery11", "battery12", "battery13", "battery14", "battery15",
	"battery16", "battery17", "battery18", "battery19", "battery20",
	"battery21", "battery22", "battery23", "battery24",
};

static const char *const battery_temp_keys[7] = {
	"battery_temp1", "battery_temp2", "battery_temp3", "battery_temp4",
	"battery_temp5", "battery_temp6", "battery_temp7",
};

static const char *const cell_temp_keys[24] = {
	"cell_temp1", "cell_temp2", "cell_temp3", "cell_temp4", "cell_temp5",
	"cell_temp6", "cell_temp7", "cell_temp8", "cell_temp9", "cell_temp10",
	"cell_temp11", "cell_temp12", "cell_temp13", "cell_temp14",
	"cell_temp15", "cell_temp16", "cell_temp17", "cell_temp18",
	"cell_temp19", "cell_temp20", "cell_temp21", "cell_temp22",
	"cell_temp23", "cell_temp24",
};

static unsigned
le16(const uint8_t *b)
{
	return (unsigned)b[0] | (unsigned)b[1] << 8;
}

static unsigned
be16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | (unsigned)b[1];
}

/* Bytes of the BS50 payload up to the discharged capacity. */
#define BS50_LEN 88

/* The fixed little-endian block of section 2.5.1 (contract in the .h). */
const char *
tk103_bms_bs50(const char *body, const char *end, struct report *r)
{
	uint8_t b[BS50_LEN];
	const uint8_t *q;
	unsigned ncells, nprobes;

	if (end - body < 2 * BS50_LEN)
		return "payload too short";
	if (parse_hexbytes(body, body + 2 * BS50_LEN, b, sizeof b) != BS50_LEN)
		return "bad hex payload";
	q = b + 3;
	ncells = *q++;
	if (ncells > 24)
		ncells = 24;
	for (unsigned i = 0; i < ncells; i++)
		report_add_num(r, battery_keys[i], le16(q + 2 * i) / 1000.0, 3);
	q += 48;
	report_add_bool(r, "charge", *q++ == 0);
	report_add_num(r, "current", le16(q) / 10.0, 1);
	q += 2;
	report_add_num(r, "battery", le16(q) / 100.0, 2);
	q += 2;
	report_add_int(r, "battery_level", *q++);
	report_add_bool(r, "overheat", *q++ != 0);
	report_add_bool(r, "charge_protection", *q++ != 0);
	report_add_bool(r, "discharge_protection", *q++ != 0);
	q += 2;			/* "drop line", "balanced" */
	report_add_int(r, "cycles", le16(q));
	q += 2;
	report_add_int(r, "fault", *q++);
	q += 6;
	nprobes = *q++;
	if (nprobes > 7)
		nprobes = 7;
	report_add_int(r, "power_temp", (int)*q++ - 40);
	report_add_int(r, "equalizer_temp", (int)*q++ - 40);
	for (unsigned i = 0; i < nprobes; i++)
		report_add_int(r, battery_temp_keys[i], (int)q[i] - 40);
	q += 7;
	report_add_num(r, "capacity", le16(q) / 100.0, 2);
	q += 2;
	report_add_int(r, "discharged", (int64_t)((uint32_t)q[0] |
	    (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24));
	return NULL;
}

/*
 * BS51: "KK:HEX" groups.  Traccar reads the 16-bit values little-endian,
 * which gives nonsense on its own test sample (537.8 V, SOC 5632.1 %);
 * big-endian gives 53.3 V, 0 A, SOC 47.6 % and cells of 3.8 V, the Daly
 * BMS layout, so this reads them big-endian.  Keys 93-95, 97, 98 and
 * unknown keys are skipped.  Contract in the .h.
 */
const char *
tk103_bms_bs51(const char *body, const char *end, struct report *r)
{
	const char *f = body, *fe;
	uint8_t key, b[64];
	long n;

	/* Each comma-separated group, the empty ones included. */
	for (;; f = fe + 1) {
		if ((fe = memchr(f, ',', (size_t)(end - f))) == NULL)
			fe = end;
		if (fe - f < 3 || f[2] != ':' ||
		    parse_hexbytes(f, f + 2, &key, 1) != 1 ||
		    (n = parse_hexbytes(f + 3, fe, b, sizeof b)) < 0)
			return "bad group";
		switch (key) {
		case 0x90:
			if (n < 8)
				return "short group 90";
			report_add_num(r, "battery", be16(b) / 10.0, 1);
			report_add_num(r, "gather_voltage", be16(b + 2) / 10.0, 1);
			report_add_num(r, "current",
			    ((int)be16(b + 4) - 30000) / 10.0, 1);
			report_add_num(r, "battery_level", be16(b + 6) / 10.0, 1);
			break;
		case 0x91:
			if (n < 6)
				return "short group 91";
			report_add_num(r, "max_cell_voltage", be16(b) / 1000.0, 3);
			report_add_int(r, "max_cell", b[2]);
			report_add_num(r, "min_cell_voltage", be16(b + 3) / 1000.0, 3);
			report_add_int(r, "min_cell", b[5]);
			break;
		case 0x92:
			if (n < 4)
				return "short group 92";
			report_add_int(r, "max_temp", (int)b[0] - 40);
			report_add_int(r, "max_temp_probe", b[1]);
			report_add_int(r, "min_temp", (int)b[2] - 40);
			report_add_int(r, "min_temp_probe", b[3]);
			break;
		case 0x96:
			if (n < 1)
				return "short group 96";
			/* b[0] is the frame number. */
			for (long i = 1; i < n && i <= 24; i++)
				report_add_int(r, cell_temp_keys[i - 1],
				    (int)b[i] - 40);
			break;
		default:
			break;
		}
		if (fe == end)
			return NULL;
	}
}
