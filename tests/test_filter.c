/* test_filter.c — glob matching and the include/exclude rules of directory transfers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "filter.h"

static void stars_stay_within_a_name(void **state)
{
    assert_true(stor_glob_match("*.txt", "notes.txt"));
    assert_false(stor_glob_match("*.txt", "dir/notes.txt"));
    assert_true(stor_glob_match("dir/*.txt", "dir/notes.txt"));
    assert_false(stor_glob_match("dir/*", "dir/sub/notes.txt"));
    assert_true(stor_glob_match("?.c", "a.c"));
    assert_false(stor_glob_match("?.c", "/.c"));
    assert_false(stor_glob_match("*.txt", "notes.txt.bak"));
    assert_true(stor_glob_match("*", ""));
}

static void double_star_crosses_slashes(void **state)
{
    assert_true(stor_glob_match("**/*.txt", "a/b/c.txt"));
    assert_true(stor_glob_match("**/*.txt", "c.txt"));
    assert_false(stor_glob_match("**/x", "a/bx"));
    assert_true(stor_glob_match("a/**", "a/b/c"));
    assert_true(stor_glob_match("a/**/z", "a/b/c/z"));
    assert_true(stor_glob_match("a/**/z", "a/z"));
}

static void classes_and_escapes(void **state)
{
    assert_true(stor_glob_match("file[0-9].log", "file7.log"));
    assert_false(stor_glob_match("file[0-9].log", "fileA.log"));
    assert_true(stor_glob_match("file[!0-9].log", "fileA.log"));
    assert_false(stor_glob_match("[/]", "/"));
    assert_true(stor_glob_match("a[b", "a[b")); /* an unclosed '[' is a literal */
    assert_true(stor_glob_match("\\*", "*"));
    assert_false(stor_glob_match("\\*", "x"));
}

static void first_matching_rule_decides(void **state)
{
    struct stor_filter f = {.count = 0};
    stor_filter_add(&f, 1, "keep.log");
    stor_filter_add(&f, 0, "*.log");
    assert_true(stor_filter_allows(&f, "deep/dir/keep.log", 0));
    assert_false(stor_filter_allows(&f, "deep/dir/drop.log", 0));
    assert_true(stor_filter_allows(&f, "deep/dir/other.txt", 0)); /* no rule: included */
}

static void directory_rules_and_anchors(void **state)
{
    struct stor_filter f = {.count = 0};
    stor_filter_add(&f, 0, "cache/");
    stor_filter_add(&f, 0, "/top/only.txt");
    assert_false(stor_filter_allows(&f, "a/cache", 1));
    assert_true(stor_filter_allows(&f, "a/cache", 0)); /* a file named cache is not a directory */
    assert_false(stor_filter_allows(&f, "top/only.txt", 0));
    assert_true(stor_filter_allows(&f, "sub/top/only.txt", 0));
}

static void include_everything_else_excluded(void **state)
{
    struct stor_filter f = {.count = 0};
    stor_filter_add(&f, 1, "*/");
    stor_filter_add(&f, 1, "*.jpg");
    stor_filter_add(&f, 0, "*");
    assert_true(stor_filter_allows(&f, "photos", 1));
    assert_true(stor_filter_allows(&f, "photos/a.jpg", 0));
    assert_false(stor_filter_allows(&f, "photos/a.png", 0));
}

/* Every '*' retried the rest at every position, so many stars took
 * exponential time (this case ran for minutes); the matcher now remembers failed positions. */
static void many_stars_finish_quickly(void **state)
{
    char pattern[256] = "", stars[256] = "", text[256];
    for (int i = 0; i < 30; i++) {
        strcat(pattern, "**a");
        strcat(stars, "*a");
    }
    memset(text, 'a', 200);
    text[200] = '\0';
    clock_t start = clock();
    assert_false(stor_glob_match(strcat(pattern, "b"), text));
    assert_false(stor_glob_match(strcat(stars, "b"), text));
    pattern[strlen(pattern) - 1] = '\0';
    assert_true(stor_glob_match(pattern, text));
    struct stor_filter f = {.count = 0};
    stor_filter_add(&f, 0, stars);
    assert_true(stor_filter_allows(&f, text, 0));
    assert_true(clock() - start < 2 * CLOCKS_PER_SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stars_stay_within_a_name),
        cmocka_unit_test(double_star_crosses_slashes),
        cmocka_unit_test(classes_and_escapes),
        cmocka_unit_test(first_matching_rule_decides),
        cmocka_unit_test(directory_rules_and_anchors),
        cmocka_unit_test(include_everything_else_excluded),
        cmocka_unit_test(many_stars_finish_quickly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
