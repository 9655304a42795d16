/*
 * gps103_alt.h: the two GPS103 records that are not the regular report
 * (protocols/TK103.md section 3): the OBD record (3.6) and the
 * `*`-terminated alternative format (3.7).
 *
 * Pure functions over the message text: no I/O, no allocation, no clock,
 * no globals.  gps103.c strips the frame, reads the IMEI into the report
 * and picks one of these by the keyword and the terminator.
 */
#ifndef GA_INGEST_GPS103_ALT_H
#define GA_INGEST_GPS103_ALT_H

#include <stddef.h>

#include "ingest/report.h"

/*
 * Decodes an OBD record s[0..n): "<IMEI>,OBD,yymmddhhmmss,odometer,…" as
 * it follows "imei:", terminator removed.  Adds the time and the OBD
 * attributes (odometer, fuel_consumption, hours, obd_speed, engine_load,
 * coolant_temp, throttle, rpm, battery, dtcs) to *r, which report_init
 * has prepared; string attributes borrow from s.
 *
 * Returns REPORT_OK, or REPORT_ERROR with a one-line reason in err (a
 * short record, a bad time, a required field absent or malformed).
 */
int gps103_alt_obd(const char *s, size_t n, struct report *r, char *err,
    size_t errlen);

/*
 * Decodes an alternative-format report s[0..n): "<IMEI>,name,event,…" as
 * it follows "imei:", the closing `*` removed.  Sets the time, the fix,
 * speed (km/h) and course, and adds name, event, sensor_id,
 * sensor_voltage, rssi, hdop, sat, ignition, charge, error and altitude
 * to *r; string attributes borrow from s.
 *
 * Returns REPORT_OK, or REPORT_ERROR with a one-line reason in err.
 */
int gps103_alt_star(const char *s, size_t n, struct report *r, char *err,
    size_t errlen);

#endif
