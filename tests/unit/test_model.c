/* Unit tests: model (the stored state vocabularies and their SQL forms). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "model.h"

/* The numbers are on disk (sql/schema.sql): they must never change. */
Test(model, stored_values_are_the_schema_values)
{
	cr_assert_eq(SEAT_FREE, 0);
	cr_assert_eq(SEAT_HELD, 1);
	cr_assert_eq(SEAT_SOLD, 2);
	cr_assert_eq(RES_HELD, 0);
	cr_assert_eq(RES_CONFIRMED, 1);
	cr_assert_eq(RES_EXPIRED, 2);
	cr_assert_eq(RES_RELEASED, 3);
	cr_assert_eq(RES_CANCELLED, 4);
	cr_assert_eq(TOKEN_WAITING, 0);
	cr_assert_eq(TOKEN_ACTIVE, 1);
	cr_assert_eq(TOKEN_EXPIRED, 2);
}

Test(model, sql_literals_equal_the_enum_values)
{
	cr_assert_str_eq(SQL_SEAT_FREE, "0");
	cr_assert_eq(atoi(SQL_SEAT_FREE), SEAT_FREE);
	cr_assert_eq(atoi(SQL_SEAT_HELD), SEAT_HELD);
	cr_assert_eq(atoi(SQL_SEAT_SOLD), SEAT_SOLD);
	cr_assert_eq(atoi(SQL_RES_HELD), RES_HELD);
	cr_assert_eq(atoi(SQL_RES_CONFIRMED), RES_CONFIRMED);
	cr_assert_eq(atoi(SQL_RES_EXPIRED), RES_EXPIRED);
	cr_assert_eq(atoi(SQL_RES_RELEASED), RES_RELEASED);
	cr_assert_eq(atoi(SQL_RES_CANCELLED), RES_CANCELLED);
	cr_assert_eq(atoi(SQL_TOKEN_WAITING), TOKEN_WAITING);
	cr_assert_eq(atoi(SQL_TOKEN_ACTIVE), TOKEN_ACTIVE);
	cr_assert_str_eq(SQL_TOKEN_EXPIRED, "2");
}

Test(model, seat_state_names)
{
	cr_assert_str_eq(model_seat_state_name(SEAT_FREE), "FREE");
	cr_assert_str_eq(model_seat_state_name(SEAT_HELD), "HELD");
	cr_assert_str_eq(model_seat_state_name(SEAT_SOLD), "SOLD");
}

Test(model, reservation_state_names)
{
	cr_assert_str_eq(model_res_state_name(RES_HELD), "HELD");
	cr_assert_str_eq(model_res_state_name(RES_CONFIRMED), "CONFIRMED");
	cr_assert_str_eq(model_res_state_name(RES_EXPIRED), "EXPIRED");
	cr_assert_str_eq(model_res_state_name(RES_RELEASED), "RELEASED");
	cr_assert_str_eq(model_res_state_name(RES_CANCELLED), "CANCELLED");
}

/* The token names are the API's "status" values. */
Test(model, token_state_names)
{
	cr_assert_str_eq(model_token_state_name(TOKEN_WAITING), "WAITING");
	cr_assert_str_eq(model_token_state_name(TOKEN_ACTIVE), "ACTIVE");
	cr_assert_str_eq(model_token_state_name(TOKEN_EXPIRED), "EXPIRED");
}

Test(model, values_outside_a_vocabulary_are_unknown)
{
	cr_assert_str_eq(model_seat_state_name(-1), "UNKNOWN");
	cr_assert_str_eq(model_seat_state_name(SEAT__MAX), "UNKNOWN");
	cr_assert_str_eq(model_res_state_name(RES__MAX), "UNKNOWN");
	cr_assert_str_eq(model_token_state_name(TOKEN__MAX), "UNKNOWN");
	cr_assert_str_eq(model_token_state_name(99), "UNKNOWN");
}
