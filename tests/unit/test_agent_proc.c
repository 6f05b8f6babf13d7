/*
 * test_agent_proc.c - the agent's /proc readers, process cache and hash cache
 * (src/agent/ag_proc.c): stat lines whose comm holds spaces and parentheses,
 * status Uid/PPid, NUL-separated command lines, a whole process read from a
 * fixture /proc (tests/unit/data/agent_proc/proc), the cache's fork/exit and
 * its bound, and the hash cache (known digests, hits, a rewritten file
 * hashed again, the bound).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/ag_int.h"

#define FIXTURE "tests/unit/data/agent_proc/proc"

static void test_parse_stat(void **st)
{
    pid_t ppid = 0;
    uint64_t start = 0;
    char comm[64];
    const char *line = "4243 (we(ird) name) R 4242 4243 4242 34816 4243 4194304 100 0 0 0 0 0 0 0 "
                       "20 0 1 0 3022999 3133440 419 18446744073709551615 1 1 0\n";
    assert_int_equal(ag_proc_parse_stat(vg_str_c(line), &ppid, &start, comm, sizeof comm), VG_OK);
    assert_int_equal(ppid, 4242);
    assert_int_equal(start, 3022999);
    assert_string_equal(comm, "we(ird) name");
    /* cut before field 22, or without the parentheses: refused */
    assert_int_equal(ag_proc_parse_stat(vg_str_c("1 (init) S 0 1 1 0 -1"), &ppid, &start, comm,
                                        sizeof comm), VG_EPARSE);
    assert_int_equal(ag_proc_parse_stat(vg_str_c("1 init S 0"), &ppid, &start, comm, sizeof comm),
                     VG_EPARSE);
    assert_int_equal(ag_proc_parse_stat(vg_str_c("1 (x) S notanumber 1 1 0 0 0 0 0 0 0 0 0 0 0 0 "
                                                 "0 0 0 0 5"), &ppid, &start, comm, sizeof comm),
                     VG_EPARSE);
}

static void test_parse_status(void **st)
{
    uid_t uid = 0;
    pid_t ppid = 0;
    const char *s = "Name:\tbash\nPPid:\t77\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n";
    assert_int_equal(ag_proc_parse_status(vg_str_c(s), &uid, &ppid), VG_OK);
    assert_int_equal(uid, 1000);   /* the real uid, first of four */
    assert_int_equal(ppid, 77);
    assert_int_equal(ag_proc_parse_status(vg_str_c("Name:\tx\n"), &uid, &ppid), VG_EPARSE);
    assert_int_equal(ag_proc_parse_status(vg_str_c("Uid:\tabc\n"), &uid, &ppid), VG_EPARSE);
}

static void test_parse_cmdline(void **st)
{
    char out[64];
    ag_proc_parse_cmdline(vg_str_make("ls\0-l\0/tmp\0", 11), out, sizeof out);
    assert_string_equal(out, "ls -l /tmp");
    ag_proc_parse_cmdline(vg_str_make("", 0), out, sizeof out);
    assert_string_equal(out, "");
    char small[6];
    ag_proc_parse_cmdline(vg_str_make("abcdef\0gh\0", 10), small, sizeof small);
    assert_string_equal(small, "abcde");
}

static void test_read_fixture(void **st)
{
    ag_proc p;
    vg_diag d;
    assert_int_equal(ag_proc_read(FIXTURE, 4242, &p, &d), VG_OK);
    assert_int_equal(p.pid, 4242);
    assert_int_equal(p.ppid, 1);
    assert_int_equal(p.start_ticks, 3022310);
    assert_int_equal(p.uid, 1000);
    assert_string_equal(p.cmdline, "bash --login");
    assert_string_equal(p.exe, "/usr/bin/bash");
    assert_string_equal(p.name, "bash");
    assert_int_equal(p.logon_id, 3);
    assert_int_equal(ag_proc_read(FIXTURE, 4243, &p, &d), VG_OK);
    assert_string_equal(p.exe, "/usr/local/bin/tool");   /* " (deleted)" removed */
    assert_string_equal(p.name, "tool");
    assert_string_equal(p.cmdline, "/usr/local/bin/tool -x a b");
    assert_int_equal(p.logon_id, -1);                       /* 4294967295: no session */
    assert_int_equal(ag_proc_read(FIXTURE, 999999, &p, &d), VG_ENOTFOUND);
    assert_non_null(strstr(d.msg, "999999/stat"));
}

static void test_pcache_fixture(void **st)
{
    ag_pcache *c;
    assert_int_equal(ag_pcache_new(FIXTURE, 16, &c), VG_OK);
    size_t n = 0;
    assert_int_equal(ag_pcache_fill(c, &n), VG_OK);
    assert_int_equal(n, 2);
    ag_proc p;
    assert_true(ag_pcache_lookup(c, 4243, &p));
    assert_int_equal(p.ppid, 4242);
    assert_string_equal(p.user, "root");
    /* start time: btime of the fixture + ticks / HZ */
    long hz = sysconf(_SC_CLK_TCK);
    assert_true(p.start == vg_time_from_unix(1764460800 + 3022999 / hz,
                                             (3022999 % hz) * (1000000000 / hz)));
    /* a fork copies the parent; the child has not exec'd */
    ag_pcache_fork(c, 4242, 5000, 3030000);
    assert_true(ag_pcache_lookup(c, 5000, &p));
    assert_string_equal(p.exe, "/usr/bin/bash");
    assert_string_equal(p.cmdline, "bash --login");
    assert_int_equal(p.ppid, 4242);
    assert_false(ag_pcache_execd(c, 5000));
    assert_true(ag_pcache_execd(c, 4242));
    /* a pid that is not in /proc: refresh says gone, the cached copy remains */
    assert_int_equal(ag_pcache_refresh(c, 5000, &p, NULL), VG_ENOTFOUND);
    assert_true(ag_pcache_lookup(c, 5000, &p));
    ag_pcache_exit(c, 5000);
    assert_true(ag_pcache_lookup(c, 5000, &p));   /* kept a while for its children */
    ag_pcache_free(c);
}

static void test_pcache_bound(void **st)
{
    ag_pcache *c;
    assert_int_equal(ag_pcache_new(FIXTURE, 8, &c), VG_OK);
    size_t n;
    assert_int_equal(ag_pcache_fill(c, &n), VG_OK);
    for (pid_t pid = 10000; pid < 10100; pid++) {
        ag_pcache_fork(c, 4242, pid, (uint64_t)pid);
        if (pid % 2)
            ag_pcache_exit(c, pid);
        assert_true(ag_pcache_count(c) <= 8);
    }
    ag_proc p;
    assert_true(ag_pcache_lookup(c, 10099, &p));   /* the newest is there */
    assert_int_equal(ag_pcache_count(c), 8);
    ag_pcache_free(c);
}

static char tmpdir[128];

static int mk_tmp(void **st)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vg_hash_test.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_tmp(void **st)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_hash_cache(void **st)
{
    ag_hash_cache *c;
    assert_int_equal(ag_hash_cache_new(8, &c), VG_OK);
    char path[256], sha1[41], sha256[65], md5[33];
    bool hit;
    snprintf(path, sizeof path, "%s/abc", tmpdir);
    write_file(path, "abc");
    assert_true(ag_hash_cache_get(c, path, sha1, sha256, md5, &hit));
    assert_false(hit);
    assert_string_equal(sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_string_equal(sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_true(ag_hash_cache_get(c, path, sha1, sha256, md5, &hit));
    assert_true(hit);
    assert_string_equal(md5, "900150983cd24fb0d6963f7d28e17f72");
    /* rewritten (new size and mtime): hashed again */
    write_file(path, "abcd");
    struct timespec ts[2] = { { 0, UTIME_NOW }, { 1000000000, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_true(ag_hash_cache_get(c, path, sha1, sha256, md5, &hit));
    assert_false(hit);
    assert_string_equal(sha256, "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589");
    /* unreadable or not a regular file: false */
    assert_false(ag_hash_cache_get(c, tmpdir, sha1, sha256, md5, &hit));
    assert_false(ag_hash_cache_get(c, "/nonexistent/x", sha1, sha256, md5, &hit));
    /* bounded */
    for (int i = 0; i < 40; i++) {
        char p2[300];
        snprintf(p2, sizeof p2, "%s/f%d", tmpdir, i);
        write_file(p2, p2);
        assert_true(ag_hash_cache_get(c, p2, sha1, sha256, md5, &hit));
        assert_true(ag_hash_cache_count(c) <= 8);
    }
    ag_hash_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stat),
        cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_parse_cmdline),
        cmocka_unit_test(test_read_fixture),
        cmocka_unit_test(test_pcache_fixture),
        cmocka_unit_test(test_pcache_bound),
        cmocka_unit_test_setup_teardown(test_hash_cache, mk_tmp, rm_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
