/*
 * check.c: self-check and lint of rules files, through the public rules
 * API only.
 */
#include "rules/check.h"

#include <string.h>

static const struct rules_field sample_fields[] = {
#define F(k, v) { k, v, sizeof v - 1 }
	F("device", "sample"), F("proto", "tk103"),
	F("time", "1732320000000"), F("recv", "1732320000500"),
	F("valid", "1"), F("lat", "51.098000"), F("lon", "-114.083000"),
	F("speed", "42.5"), F("course", "90"), F("altitude", "1100"),
	F("odometer", "123456"), F("ignition", "1"), F("charge", "1"),
	F("power", "12.6"), F("battery", "4.1"), F("battery_level", "90"),
	F("sat", "9"), F("raw", "(sample)"), F("transport", "tcp"),
	F("peer", "127.0.0.1:5000"),
#undef F
};
static const char *const sample_inside[] = { "sample" };

/*
 * The sample position every rule runs against: a valid fix with speed,
 * course, altitude, odometer, ignition, charge, power, battery,
 * battery_level and sat, inside and just entered fence "sample", no
 * alarm.  Its device field is replaced by the device being checked.
 */
static const struct rules_pos sample_pos = {
	sample_fields, sizeof sample_fields / sizeof *sample_fields,
	sample_inside, 1, sample_inside, 1, NULL, 0,
};

size_t
check_self(struct rules *r, FILE *report, char *err, size_t errlen)
{
	struct rules_field fields[sizeof sample_fields / sizeof *sample_fields];
	struct rules_pos pos = sample_pos;
	const struct rules_result *res;
	size_t k, i, bad = 0, n = rules_device_count(r);
	const char *dev;

	memcpy(fields, sample_fields, sizeof fields);
	pos.fields = fields;
	for (k = 0; k <= n && (report != NULL || bad == 0); k++) {
		/* No listed id has a space: this one always gets defaults. */
		dev = k == 0 ? "sample device" : rules_device_id(r, k - 1);
		if (!rules_has_custom(r, dev))
			continue;
		fields[0].value = dev;
		fields[0].len = strlen(dev);
		res = rules_run(r, dev, &pos, NULL);
		for (i = 0; i < res->nerrors; i++, bad++) {
			if (report != NULL)
				fprintf(report, "%s: self-check: device '%s', "
				    "rule '%s': %s\n", rules_name(r), dev,
				    res->errors[i].rule, res->errors[i].message);
			else if (bad == 0)
				snprintf(err, errlen, "%s: self-check: device "
				    "'%s', rule '%s': %s", rules_name(r), dev,
				    res->errors[i].rule, res->errors[i].message);
		}
	}
	rules_reset_failures(r);
	return bad;
}


int
check_file(const char *path, FILE *out)
{
	struct rules_opts opts = { 0, 0, true };
	struct rules *r;
	char err[512];

	if ((r = rules_load(path, &opts, err, sizeof err)) == NULL) {
		fprintf(out, "%s\n", err);
		return 1;
	}
	if (check_self(r, out, err, sizeof err) > 0) {
		rules_free(r);
		return 1;
	}
	fprintf(out, "%s: ok (%zu devices, %zu rules)\n", path,
	    rules_device_count(r), rules_rule_count(r));
	rules_free(r);
	return 0;
}
