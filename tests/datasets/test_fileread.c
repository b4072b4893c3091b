/* Bounded whole-file reading (datasets/fileread.c) and message excerpts: gzip with several
 * members, trailing bytes, truncation and a bomb refused after its counting pass; the memory
 * available and BT_MEM_AVAILABLE; a FIFO read to its end (not "empty"); a device refused;
 * label bounds; bt_excerpt's cut and escapes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "datasets/loaders.h"
#include "tests/bt_test.h"

static char path_buf[1024];

static const char *tmp(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/fileread_%s", bt_test_tmpdir(), name);
    return path_buf;
}

/* Appends one gzip member holding n bytes of text (repeated) to path. */
static void gz_member(const char *path, const char *text, size_t n) {
    gzFile g = gzopen(path, "ab9");
    size_t len = strlen(text);
    for (size_t done = 0; done < n; done += len)
        gzwrite(g, text, (unsigned)(n - done < len ? n - done : len));
    gzclose(g);
}

static void test_gzip(void) {
    unsigned char *buf;
    size_t len;
    const char *p = tmp("two.gz");
    unlink(p);
    gz_member(p, "abc", 3);
    gz_member(p, "de", 2);
    CHECK_OK(bt_file_read_all(p, &buf, &len));
    CHECK(len == 5 && memcmp(buf, "abcde", 6) == 0); /* gunzip joins the members */
    free(buf);
    FILE *f = fopen(p, "ab"); /* bytes after the last member are ignored, as gunzip does */
    fputs("trailing", f);
    fclose(f);
    CHECK_OK(bt_file_read_all(p, &buf, &len));
    CHECK(len == 5);
    free(buf);

    p = tmp("trunc.gz");
    unlink(p);
    gz_member(p, "0123456789", 100000);
    struct stat st;
    stat(p, &st);
    CHECK(truncate(p, st.st_size - 9) == 0);
    CHECK(bt_file_read_all(p, &buf, &len) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "truncated gzip file") != NULL);

    /* 80 MB of zeros in about 80 KB: past 64 MiB and 100x its size, refused */
    p = tmp("bomb.gz");
    unlink(p);
    {
        gzFile g = gzopen(p, "ab9");
        static char zeros[1 << 16];
        for (int i = 0; i < 80 * 16; i++) gzwrite(g, zeros, sizeof zeros);
        gzclose(g);
    }
    bt_status s = bt_file_read_all(p, &buf, &len);
    CHECK(s == BT_STATUS_BAD_INPUT);
    CHECK_MSG(strstr(bt_status_message(), "gzip data inflates to more than 64 MiB"), "%s",
              bt_status_message());
}

static void test_memory(void) {
    int64_t avail = bt_mem_available();
    CHECK(avail > 0);
    setenv("BT_MEM_AVAILABLE", "1000", 1);
    CHECK(bt_mem_available() == 1000);
    CHECK(bt_data_fits("x.h5", "a table", 1000) == BT_STATUS_OK);
    CHECK(bt_data_fits("x.h5", "a table", 1001) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "x.h5: a table needs") != NULL);
    bt_dataset d = {0};
    CHECK(bt_dataset_alloc(&d, 100, 10) == BT_STATUS_BAD_INPUT); /* 4400 bytes > 1000 */
    bt_dataset_free(&d);
    const char *p = tmp("small.csv");
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 100; i++) fputs("1234567890,1\n", f);
    fclose(f);
    unsigned char *buf;
    size_t len;
    CHECK(bt_file_read_all(p, &buf, &len) == BT_STATUS_BAD_INPUT); /* 1300 bytes > 1000 */
    unsetenv("BT_MEM_AVAILABLE");
    CHECK_OK(bt_file_read_all(p, &buf, &len));
    CHECK(len == 1300);
    free(buf);
}

static void test_fifo_and_devices(void) {
    const char *p = tmp("fifo.csv");
    unlink(p);
    CHECK(mkfifo(p, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) { /* the writer: a CSV whose size nobody knows in advance */
        int fd = open(p, O_WRONLY);
        const char text[] = "a,t\n1,0\n2,1\n3,0\n";
        if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1)) _exit(1);
        close(fd);
        _exit(0);
    }
    bt_dataset d = {0};
    bt_status s = bt_dataset_load_csv(p, NULL, -1, &d, NULL);
    CHECK_MSG(s == BT_STATUS_OK, "%s", bt_status_message());
    CHECK(d.n_rows == 3 && d.X[2] == 3 && d.y[1] == 1);
    bt_dataset_free(&d);
    int st = 0;
    waitpid(pid, &st, 0);
    unlink(p);
    unsigned char *buf;
    size_t len;
    CHECK(bt_file_read_all("/dev/zero", &buf, &len) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "a device, not a data file") != NULL);
    /* /proc files say size 0 but are not empty */
    CHECK_OK(bt_file_read_all("/proc/self/status", &buf, &len));
    CHECK(len > 0 && strstr((char *)buf, "Name:") != NULL);
    free(buf);
}

static void test_labels(void) {
    bt_dataset d = {0};
    CHECK_OK(bt_dataset_alloc(&d, 3, 1));
    float y[3] = {0, 9999, 2};
    memcpy(d.y, y, sizeof y);
    int64_t lines[3] = {2, 3, 7};
    CHECK_OK(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 0, "l.csv", lines));
    d.y[2] = 4294967297.0f; /* no int32 wrap: refused with its line */
    CHECK(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 0, "l.csv", lines) ==
          BT_STATUS_BAD_INPUT);
    CHECK_MSG(strstr(bt_status_message(), "l.csv:7: label 4294967296 would make more than 10000"),
              "%s", bt_status_message());
    d.y[2] = 10000;
    CHECK(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 0, "l.bin", NULL) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "l.bin: row 3: label 10000") != NULL);
    bt_dataset_free(&d);
}

static void test_excerpt(void) {
    char out[BT_EXCERPT_SIZE];
    CHECK(strcmp(bt_excerpt("plain", -1, out), "plain") == 0);
    CHECK(strcmp(bt_excerpt("a\nb\x1b[31m", -1, out), "a\\x0ab\\x1b[31m") == 0);
    CHECK(strcmp(bt_excerpt("Gr\xc3\xb6\xc3\x9f"
                            "e",
                            -1, out),
                 "Gr\xc3\xb6\xc3\x9f"
                 "e") == 0);
    CHECK(strcmp(bt_excerpt("bad \xc3 utf8", -1, out), "bad \\xc3 utf8") == 0);
    char long_text[200];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[199] = '\0';
    bt_excerpt(long_text, -1, out);
    CHECK(strlen(out) == BT_EXCERPT_CHARS + 3 && strcmp(out + BT_EXCERPT_CHARS, "...") == 0);
    memset(long_text, 0x01, sizeof long_text - 1); /* the worst case fits the buffer */
    bt_excerpt(long_text, -1, out);
    CHECK(strlen(out) == 4 * BT_EXCERPT_CHARS + 3);
    CHECK(strcmp(bt_excerpt("abcdef", 3, out), "abc") == 0); /* n bytes of a longer text */
}

int main(void) {
    test_gzip();
    test_memory();
    test_fifo_and_devices();
    test_labels();
    test_excerpt();
    return bt_test_finish("test_fileread");
}
