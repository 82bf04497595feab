/*
 * model: see model.h.
 */
#include "model.h"

static const char *const seat_names[SEAT__MAX] = {
	[SEAT_FREE] = "FREE",
	[SEAT_HELD] = "HELD",
	[SEAT_SOLD] = "SOLD",
};

static const char *const res_names[RES__MAX] = {
	[RES_HELD] = "HELD",
	[RES_CONFIRMED] = "CONFIRMED",
	[RES_EXPIRED] = "EXPIRED",
	[RES_RELEASED] = "RELEASED",
	[RES_CANCELLED] = "CANCELLED",
};

static const char *const token_names[TOKEN__MAX] = {
	[TOKEN_WAITING] = "WAITING",
	[TOKEN_ACTIVE] = "ACTIVE",
	[TOKEN_EXPIRED] = "EXPIRED",
};

static const char *const token_end_names[TOKEN_END__MAX] = {
	[TOKEN_END_PAID] = "paid",
	[TOKEN_END_LEFT] = "left",
	[TOKEN_END_LAPSED] = "lapsed",
	[TOKEN_END_IDLE] = "idle",
	[TOKEN_END_UNCLAIMED] = "unclaimed",
};

const char *
model_token_end_name(int reason)
{
	return reason > TOKEN_END_NONE && reason < TOKEN_END__MAX ?
	    token_end_names[reason] : 0;
}

static const char *
name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n && names[v] != 0 ? names[v] : "UNKNOWN";
}

const char *
model_seat_state_name(int state)
{
	return name_of(seat_names, SEAT__MAX, state);
}

const char *
model_res_state_name(int state)
{
	return name_of(res_names, RES__MAX, state);
}

const char *
model_token_state_name(int state)
{
	return name_of(token_names, TOKEN__MAX, state);
}
