/*
 * harness.h: shared helpers for the rules unit tests (header-only, static
 * functions): load a rules source, build a position from "key=value"
 * text, run rules while threading the device state through like the
 * engine does; run chunks in a bare sealed sandbox.
 */
#ifndef GA_TESTS_RULES_HARNESS_H
#define GA_TESTS_RULES_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "rules/rules.h"
#include "rules/sandbox.h"

#define H_MAXF 24

struct hpos {
	struct rules_field f[H_MAXF];
	char text[1024];
	const char *lists[3][8];
	struct rules_pos pos;
};

/*
 * Fills p from "k=v k=v ... [in=a,b] [enter=a] [exit=b]" (values without
 * spaces).  in/enter/exit fill the fence lists.
 */
static inline const struct rules_pos *
hpos_make(struct hpos *p, const char *spec)
{
	static const char *const lk[3] = { "in", "enter", "exit" };
	size_t nl[3] = { 0, 0, 0 }, i;
	char *save = NULL, *tok, *eq, *id, *s2;

	memset(p, 0, sizeof *p);
	snprintf(p->text, sizeof p->text, "%s", spec);
	for (tok = strtok_r(p->text, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		eq = strchr(tok, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		for (i = 0; i < 3; i++)
			if (strcmp(tok, lk[i]) == 0)
				break;
		if (i < 3) {
			for (id = strtok_r(eq + 1, ",", &s2); id != NULL;
			    id = strtok_r(NULL, ",", &s2))
				p->lists[i][nl[i]++] = id;
			continue;
		}
		p->f[p->pos.nfields].key = tok;
		p->f[p->pos.nfields].value = eq + 1;
		p->f[p->pos.nfields].len = strlen(eq + 1);
		p->pos.nfields++;
	}
	p->pos.fields = p->f;
	p->pos.inside = p->lists[0];
	p->pos.ninside = nl[0];
	p->pos.entered = p->lists[1];
	p->pos.nentered = nl[1];
	p->pos.exited = p->lists[2];
	p->pos.nexited = nl[2];
	return &p->pos;
}

/* Loads src or fails the test with the load error. */
static inline struct rules *
h_load(const char *src)
{
	char err[512];
	struct rules *r = rules_load_string(src, strlen(src), "t.lua", NULL,
	    err, sizeof err);

	if (r == NULL)
		fail_msg("load failed: %s", err);
	return r;
}

/* Loads src without the self-check (for rules meant to fail). */
static inline struct rules *
h_load_nc(const char *src)
{
	struct rules_opts opts = { 0, 0, true };
	char err[512];
	struct rules *r = rules_load_string(src, strlen(src), "t.lua", &opts,
	    err, sizeof err);

	if (r == NULL)
		fail_msg("load failed: %s", err);
	return r;
}

/* Loads src expecting failure; returns the error text (static). */
static inline const char *
h_load_err(const char *src)
{
	static char err[512];
	struct rules *r = rules_load_string(src, strlen(src), "t.lua", NULL,
	    err, sizeof err);

	if (r != NULL) {
		rules_free(r);
		fail_msg("load of a bad file succeeded");
	}
	return err;
}

/*
 * Runs the rules for device on spec, keeping the device's state in
 * *state (heap; updated when the result carries a new one).
 */
static inline const struct rules_result *
h_run(struct rules *r, const char *device, const char *spec, char **state)
{
	struct hpos p;
	const struct rules_result *res;

	res = rules_run(r, device, hpos_make(&p, spec), *state);
	if (res->state != NULL) {
		free(*state);
		*state = xstrdup(res->state);
	}
	return res;
}

/* Concatenation of the alert types of res, separated by spaces (static). */
static inline const char *
h_types(const struct rules_result *res)
{
	static char buf[512];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < res->nalerts && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
		    i ? " " : "", res->alerts[i].type);
	return buf;
}

/* {==================================================================
 * A bare sandbox
 * =================================================================== */

/* A rule-like chunk whose only correct answer is "42:OK:a,b". */
static const char h_normal[] =
    "local t = {} for w in string.gmatch('b a', '%a') do t[#t+1] = w end "
    "table.sort(t) "
    "return string.format('%d:%s:%s', 6 * 7, ('ok'):upper(), table.concat(t, ','))";

/* A sealed sandbox with the given budget (0: the default), or fails. */
static inline struct sandbox *
h_sealed(long budget)
{
	char err[256];
	struct sandbox *sb = sandbox_new(0, budget, err, sizeof err);

	if (sb == NULL)
		fail_msg("%s", err);
	assert_int_equal(sandbox_seal(sb, err, sizeof err), 0);
	return sb;
}

/* Loads and calls src; returns 0 with its string result in out, or -1
 * with the error in out. */
static inline int
h_sb_run(struct sandbox *sb, const char *src, char *out, size_t outlen)
{
	lua_State *L = sandbox_lua(sb);
	const char *s;

	if (sandbox_load(sb, src, strlen(src), "@probe.lua", out,
	    outlen) == -1)
		return -1;
	if (sandbox_call(sb, 0, 1, out, outlen) == -1)
		return -1;
	s = lua_tostring(L, -1);
	snprintf(out, outlen, "%s", s != NULL ? s : "(not a string)");
	lua_pop(L, 1);
	return 0;
}

/* Fails unless the stack is empty and h_normal still runs right. */
static inline void
h_still_fine(struct sandbox *sb)
{
	char out[256];

	assert_int_equal(lua_gettop(sandbox_lua(sb)), 0);
	if (h_sb_run(sb, h_normal, out, sizeof out) == -1)
		fail_msg("normal chunk failed: %s", out);
	assert_string_equal(out, "42:OK:a,b");
}

/* src must fail; its error must contain want; the sandbox stays fine. */
static inline void
h_refused(struct sandbox *sb, const char *src, const char *want)
{
	char out[512];

	if (h_sb_run(sb, src, out, sizeof out) == 0)
		fail_msg("not refused: %s -> %s", src, out);
	if (strstr(out, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", src, out, want);
	h_still_fine(sb);
}

/* Pushes the value of the Lua expression src, or fails the test. */
static inline void
h_sb_eval(struct sandbox *sb, const char *src)
{
	char chunk[4096], err[256];

	snprintf(chunk, sizeof chunk, "return %s", src);
	if (sandbox_load(sb, chunk, strlen(chunk), "=eval", err,
	    sizeof err) == -1 || sandbox_call(sb, 0, 1, err, sizeof err) == -1)
		fail_msg("%s: %s", src, err);
}

#endif
