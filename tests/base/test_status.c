/* bt_status: message and location survive, codes are the documented exit codes. */
#include "base/status.h"
#include "tests/bt_test.h"

static bt_status fails(void) {
    return BT_FAIL(BT_STATUS_BAD_INPUT, "bad %s at %d", "thing", 7);
}

int main(void) {
    CHECK_EQ_INT(fails(), 65);
    CHECK_STR(bt_status_message(), "bad thing at 7");
    CHECK(strstr(bt_status_where(), "test_status.c:") != NULL);
    CHECK_EQ_INT(BT_STATUS_INTERRUPTED, 75);
    CHECK_STR(bt_status_name(BT_STATUS_IO), "output I/O error");
    return bt_test_finish("test_status");
}
