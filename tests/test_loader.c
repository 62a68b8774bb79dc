/* test_loader.c — the plugin loader against real shared objects: a good fixture, one fixture per
 * defect (tests/fixtures/fixture.c), a file that is not ELF, and the frozen ABI layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "test_util.h"

extern const struct stor_backend stor_local_backend;
static const struct stor_backend *const builtins[] = {&stor_local_backend, NULL};

static struct stor_search_path fixtures_path(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_build_path("tests/fixtures/.libs"));
    struct stor_search_path path = {.count = 0};
    assert_int_equal(stor_search_path_add(&path, dir), 0);
    return path;
}

/* Loads `name` from the fixtures and expects `status` with a message containing `needle`. */
static void expect_load_failure(const char *name, enum stor_status status, const char *needle)
{
    struct stor_search_path path = fixtures_path();
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load(name, &path, builtins, &plugin, &err), status);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
    assert_null(strchr(err.message, '\n'));
    assert_null(plugin.handle);
}

/* Appending is the only allowed change: every ABI 1 offset is frozen here (LP64). */
static void abi_layout_is_frozen(void **state)
{
    assert_int_equal(offsetof(struct stor_backend, abi_version), 0);
    assert_int_equal(offsetof(struct stor_backend, struct_size), 4);
    assert_int_equal(offsetof(struct stor_backend, name), 8);
    assert_int_equal(offsetof(struct stor_backend, description), 16);
    assert_int_equal(offsetof(struct stor_backend, options), 24);
    assert_int_equal(offsetof(struct stor_backend, notes), 32);
    assert_int_equal(offsetof(struct stor_backend, open), 40);
    assert_int_equal(offsetof(struct stor_backend, close), 48);
    assert_int_equal(offsetof(struct stor_backend, put), 56);
    assert_int_equal(offsetof(struct stor_backend, get), 64);
    assert_int_equal(offsetof(struct stor_backend, list), 72);
    assert_int_equal(offsetof(struct stor_backend, remove), 80);
    assert_int_equal(offsetof(struct stor_backend, get_upload_target), 88);
    assert_int_equal(STOR_BACKEND_V1_SIZE, 96);
    assert_int_equal(offsetof(struct stor_backend, get_ex), 96);
    assert_int_equal(offsetof(struct stor_backend, remove_ex), 104);
    assert_int_equal(offsetof(struct stor_backend, copy), 112);
    assert_int_equal(offsetof(struct stor_backend, cleanup), 120);
    /* ABI 3 */
    assert_int_equal(offsetof(struct stor_backend, capabilities), 128);
    assert_int_equal(offsetof(struct stor_backend, put_ex), 136);
    assert_int_equal(offsetof(struct stor_backend, stat), 144);
    assert_int_equal(offsetof(struct stor_backend, list_buckets), 152);
    assert_int_equal(offsetof(struct stor_backend, create_bucket), 160);
    assert_int_equal(offsetof(struct stor_backend, delete_bucket), 168);
    assert_int_equal(offsetof(struct stor_backend, share), 176);
    assert_int_equal(offsetof(struct stor_backend, update_bucket), 184);
    assert_int_equal(offsetof(struct stor_backend, protect), 192);
    /* ABI 4 */
    assert_int_equal(offsetof(struct stor_backend, remove_many), 200);
    assert_int_equal(sizeof(struct stor_backend), 208);
    assert_int_equal(STOR_REMOVE_BYPASS_GOVERNANCE, 2);
    assert_int_equal(STOR_PROTECT_BYPASS_GOVERNANCE, 1);
    assert_int_equal(offsetof(struct stor_host, abi_version), 0);
    assert_int_equal(offsetof(struct stor_host, struct_size), 4);
    assert_int_equal(offsetof(struct stor_host, log_level), 8);
    assert_int_equal(offsetof(struct stor_host, log), 16);
    assert_int_equal(offsetof(struct stor_host, progress), 24);
    assert_int_equal(offsetof(struct stor_host, cancelled), 32);
    assert_int_equal(offsetof(struct stor_host, count), 40);
    assert_int_equal(offsetof(struct stor_host, intent), 48);
    assert_int_equal(sizeof(struct stor_host), 56);
    assert_int_equal(offsetof(struct stor_object, content_type), 48);
    assert_int_equal(offsetof(struct stor_object, is_hidden), 56);
    assert_int_equal(offsetof(struct stor_object, upload_ms), 64);
    assert_int_equal(offsetof(struct stor_object, md5), 72);
    assert_int_equal(offsetof(struct stor_object, cache_control), 80);
    assert_int_equal(offsetof(struct stor_object, content_disposition), 88);
    assert_int_equal(offsetof(struct stor_object, content_encoding), 96);
    assert_int_equal(offsetof(struct stor_object, content_language), 104);
    assert_int_equal(offsetof(struct stor_object, expires), 112);
    assert_int_equal(offsetof(struct stor_object, metadata), 120);
    assert_int_equal(offsetof(struct stor_object, metadata_count), 128);
    assert_int_equal(offsetof(struct stor_object, protection), 136);
    assert_int_equal(sizeof(struct stor_object), 168);
    assert_int_equal(offsetof(struct stor_protection, encryption), 0);
    assert_int_equal(offsetof(struct stor_protection, retention_mode), 8);
    assert_int_equal(offsetof(struct stor_protection, retain_until_ms), 16);
    assert_int_equal(offsetof(struct stor_protection, legal_hold), 24);
    assert_int_equal(sizeof(struct stor_protection), 32);
    assert_int_equal(offsetof(struct stor_put_options, size), 8);
    assert_int_equal(offsetof(struct stor_put_options, mtime_ms), 16);
    assert_int_equal(offsetof(struct stor_put_options, sha1), 24);
    assert_int_equal(offsetof(struct stor_put_options, content_type), 32);
    assert_int_equal(offsetof(struct stor_put_options, cache_control), 40);
    assert_int_equal(offsetof(struct stor_put_options, content_disposition), 48);
    assert_int_equal(offsetof(struct stor_put_options, content_encoding), 56);
    assert_int_equal(offsetof(struct stor_put_options, content_language), 64);
    assert_int_equal(offsetof(struct stor_put_options, expires), 72);
    assert_int_equal(offsetof(struct stor_put_options, metadata), 80);
    assert_int_equal(offsetof(struct stor_put_options, metadata_count), 88);
    assert_int_equal(offsetof(struct stor_put_options, protection), 96);
    assert_int_equal(sizeof(struct stor_put_options), 128);
    assert_int_equal(offsetof(struct stor_bucket, id), 8);
    assert_int_equal(offsetof(struct stor_bucket, is_public), 16);
    assert_int_equal(offsetof(struct stor_bucket, created_ms), 24);
    assert_int_equal(offsetof(struct stor_bucket, settings), 32);
    assert_int_equal(offsetof(struct stor_bucket, setting_count), 40);
    assert_int_equal(offsetof(struct stor_bucket_options, is_public), 4);
    assert_int_equal(offsetof(struct stor_bucket_options, settings), 8);
    assert_int_equal(offsetof(struct stor_bucket_options, setting_count), 16);
    assert_int_equal(offsetof(struct stor_get_options, version_id), 8);
    assert_int_equal(offsetof(struct stor_get_options, offset), 16);
    assert_int_equal(offsetof(struct stor_get_options, length), 24);
    assert_int_equal(offsetof(struct stor_get_options, resume), 32);
    assert_int_equal(offsetof(struct stor_get_options, expected_id), 40);
    assert_int_equal(offsetof(struct stor_get_options, expected_sha1), 48);
    assert_int_equal(offsetof(struct stor_get_options, on_start), 56);
    assert_int_equal(offsetof(struct stor_get_options, start_context), 64);
    assert_int_equal(sizeof(struct stor_get_options), 72);
    assert_int_equal(offsetof(struct stor_remove_options, version_id), 8);
    assert_int_equal(offsetof(struct stor_remove_options, flags), 16);
    assert_int_equal(STOR_ECANCELLED, 8);
    assert_int_equal(STOR_ESTALE, 9);
    assert_int_equal(STOR_CAP_RETENTION, 1 << 15);
}

static int count_objects(void *context, const struct stor_object *object)
{
    assert_string_equal(object->key, "fixture-object");
    (*(int *)context)++;
    return 0;
}

static void good_plugin_loads_and_runs(void **state)
{
    struct stor_search_path path = fixtures_path();
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load("good", &path, builtins, &plugin, &err), STOR_OK);
    assert_non_null(plugin.handle);
    assert_string_equal(plugin.table.name, "good");
    assert_non_null(strstr(plugin.path, "/tests/fixtures/.libs/good.so"));
    assert_null(plugin.table.remove); /* optional slot left NULL stays NULL */

    void *instance = NULL;
    assert_int_equal(plugin.table.open(NULL, NULL, 0, &instance, &err), STOR_OK);
    int count = 0;
    assert_int_equal(plugin.table.list(instance, "b", "", 0, count_objects, &count, &err), STOR_OK);
    assert_int_equal(count, 1);
    plugin.table.close(instance);
    stor_plugin_unload(&plugin);
}

/* A plugin built for ABI 1 keeps loading into this host; the slots it never had read as NULL. */
static void older_abi_plugin_loads_without_newer_slots(void **state)
{
    struct stor_search_path path = fixtures_path();
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load("abi_one", &path, builtins, &plugin, &err), STOR_OK);
    assert_int_equal(plugin.table.abi_version, 1);
    assert_non_null(plugin.table.list);
    assert_null(plugin.table.get_ex);
    assert_null(plugin.table.copy);
    assert_null(plugin.table.cleanup);
    assert_null(plugin.table.stat);
    assert_int_equal(plugin.table.capabilities, 0);
    /* What an ABI 1 table could do: one-level listings and nothing optional. */
    assert_int_equal(plugin.capabilities, STOR_CAP_DELIMITER);
    stor_plugin_unload(&plugin);
}

/* An ABI 2 plugin loads too: its ABI 2 slots stay, ABI 3's read as NULL, and the capabilities its
 * slots imply are derived (it declares none). */
static void abi_two_plugin_loads_with_derived_capabilities(void **state)
{
    struct stor_search_path path = fixtures_path();
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load("abi_two", &path, builtins, &plugin, &err), STOR_OK);
    assert_int_equal(plugin.table.abi_version, 2);
    assert_non_null(plugin.table.get_ex);
    assert_null(plugin.table.put_ex);
    assert_null(plugin.table.share);
    assert_int_equal(plugin.capabilities, STOR_CAP_DELIMITER | STOR_CAP_VERSIONS |
                                              STOR_CAP_RANGED_GET | STOR_CAP_RESUME_GET);
    stor_plugin_unload(&plugin);
}

/* An ABI 3 plugin's capabilities are what it declares, less those whose slot it left NULL. */
static void declared_capabilities_need_their_slot(void **state)
{
    struct stor_search_path path = fixtures_path();
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load("good", &path, builtins, &plugin, &err), STOR_OK);
    assert_int_equal(plugin.table.capabilities, STOR_CAP_DELIMITER | STOR_CAP_SHARE);
    assert_int_equal(plugin.capabilities, STOR_CAP_DELIMITER); /* share is NULL */
    char text[256];
    stor_capabilities_text(plugin.table.capabilities, text, sizeof text);
    assert_string_equal(text, "share,delimiter");
    stor_plugin_unload(&plugin);
}

static void missing_entry_symbol_is_named(void **state)
{
    expect_load_failure("no_entry", STOR_EINVAL, "has no symbol stor_plugin_entry");
}

static void newer_abi_names_both_versions(void **state)
{
    expect_load_failure("newer_abi", STOR_EINVAL,
                        "needs plugin ABI version 5, but this stor supports up to version 4");
}

static void short_table_is_refused(void **state)
{
    expect_load_failure("short_table", STOR_EINVAL, "is 56 bytes, shorter than the 96 bytes");
}

static void null_required_operation_is_named(void **state)
{
    expect_load_failure("null_put", STOR_EINVAL, "lacks the required operation 'put'");
}

static void misnamed_plugin_is_refused(void **state)
{
    expect_load_failure("misnamed", STOR_EINVAL, "calls itself 'someone-else', expected 'misnamed'");
}

static void unknown_backend_lists_path_and_backends(void **state)
{
    expect_load_failure("nope", STOR_ENOTFOUND, "no backend named 'nope' (searched ");
    expect_load_failure("nope", STOR_ENOTFOUND, "tests/fixtures/.libs;");
    expect_load_failure("nope", STOR_ENOTFOUND, "available: abi_one, abi_two, flat, good, local)");
}

static void invalid_backend_names_are_refused(void **state)
{
    expect_load_failure("../good", STOR_EINVAL, "invalid backend name");
    expect_load_failure("", STOR_EINVAL, "invalid backend name");
}

/* Writes `content` as DIR/NAME.so with `mode` and tries to load it. */
static void load_from_scratch(const char *name, const char *content, size_t len, mode_t mode,
                              enum stor_status status, const char *needle)
{
    char *dir = test_mkdtemp(), file[4096];
    snprintf(file, sizeof file, "%s/%s.so", dir, name);
    test_write_file(file, content, len);
    assert_int_equal(chmod(file, mode), 0);
    struct stor_search_path path = {.count = 0};
    stor_search_path_add(&path, dir);
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load(name, &path, builtins, &plugin, &err), status);
    if (status != STOR_OK && !strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
    if (status == STOR_OK) {
        assert_non_null(strstr(plugin.path, dir));
        stor_plugin_unload(&plugin);
    }
    test_rmtree(dir);
    free(dir);
}

static void not_a_shared_object_is_reported(void **state)
{
    const char text[] = "this is not an ELF file\n";
    load_from_scratch("garbage", text, sizeof text - 1, 0644, STOR_EINVAL, "cannot load plugin");
    load_from_scratch("garbage", text, sizeof text - 1, 0644, STOR_EINVAL, "garbage.so");
}

static char *read_good_fixture(size_t *len)
{
    char *so = test_read_file(test_build_path("tests/fixtures/.libs/good.so"), len);
    assert_non_null(so);
    return so;
}

static void world_writable_plugin_is_refused(void **state)
{
    size_t len;
    char *so = read_good_fixture(&len);
    load_from_scratch("good", so, len, 0666, STOR_EINVAL, "writable by anyone");
    load_from_scratch("good", so, len, 0644, STOR_OK, NULL);
    free(so);
}

/* Only root's or the user's own plugins load (root can hand a copy to someone else to check). */
static void plugin_of_another_user_is_refused(void **state)
{
    size_t len;
    char *so = read_good_fixture(&len);
    char *dir = test_mkdtemp(), file[4096];
    snprintf(file, sizeof file, "%s/good.so", dir);
    test_write_file(file, so, len);
    free(so);
    struct stor_search_path path = {.count = 0};
    stor_search_path_add(&path, dir);
    struct stor_plugin plugin;
    struct stor_error err = {""};
    if (geteuid() == 0) {
        assert_int_equal(chown(file, 65534, 65534), 0);
        assert_int_equal(stor_plugin_load("good", &path, builtins, &plugin, &err), STOR_EINVAL);
        assert_non_null(strstr(err.message, "belongs to another user (uid 65534)"));
    } else {
        assert_int_equal(stor_plugin_load("good", &path, builtins, &plugin, &err), STOR_OK);
        stor_plugin_unload(&plugin);
    }
    test_rmtree(dir);
    free(dir);
}

static void first_directory_on_the_path_wins(void **state)
{
    size_t len;
    char *so = read_good_fixture(&len);
    char *dir = test_mkdtemp(), file[4096];
    snprintf(file, sizeof file, "%s/good.so", dir);
    test_write_file(file, so, len);
    free(so);

    struct stor_search_path path = {.count = 0};
    stor_search_path_add(&path, dir);
    stor_search_path_add(&path, test_build_path("tests/fixtures/.libs"));
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load("good", &path, builtins, &plugin, &err), STOR_OK);
    assert_string_equal(plugin.path, file);
    stor_plugin_unload(&plugin);
    test_rmtree(dir);
    free(dir);
}

static void relative_and_empty_directories_are_never_searched(void **state)
{
    struct stor_search_path path = {.count = 0};
    stor_search_path_add(&path, "");
    stor_search_path_add(&path, ".");
    stor_search_path_add(&path, "tests/fixtures/.libs");
    stor_search_path_add(&path, NULL);
    assert_int_equal(path.count, 0);
    stor_search_path_add(&path, "/a");
    stor_search_path_add(&path, "/a");
    assert_int_equal(path.count, 1);
}

static void builtin_local_is_the_fallback(void **state)
{
    struct stor_search_path path = {.count = 0};
    struct stor_plugin plugin;
    struct stor_error err = {""};
    assert_int_equal(stor_plugin_load("local", &path, builtins, &plugin, &err), STOR_OK);
    assert_string_equal(plugin.path, "built-in");
    assert_null(plugin.handle);
    assert_non_null(plugin.table.put);
    stor_plugin_unload(&plugin);
}

struct scan_result {
    char seen[512];
    int broken;
};

static void record(void *context, const char *name, const struct stor_plugin *plugin,
                   const char *error)
{
    struct scan_result *r = context;
    strcat(r->seen, name);
    strcat(r->seen, plugin ? "+ " : "- ");
    if (!plugin) {
        assert_non_null(error);
        r->broken++;
    }
}

static void scan_reports_good_and_broken_plugins(void **state)
{
    struct stor_search_path path = fixtures_path();
    struct scan_result r = {"", 0};
    stor_plugin_scan(&path, builtins, record, &r);
    assert_string_equal(r.seen, "abi_one+ abi_two+ flat+ good+ misnamed- newer_abi- no_entry- null_put- short_table- local+ ");
    assert_int_equal(r.broken, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(abi_layout_is_frozen),
        cmocka_unit_test(good_plugin_loads_and_runs),
        cmocka_unit_test(older_abi_plugin_loads_without_newer_slots),
        cmocka_unit_test(abi_two_plugin_loads_with_derived_capabilities),
        cmocka_unit_test(declared_capabilities_need_their_slot),
        cmocka_unit_test(missing_entry_symbol_is_named),
        cmocka_unit_test(newer_abi_names_both_versions),
        cmocka_unit_test(short_table_is_refused),
        cmocka_unit_test(null_required_operation_is_named),
        cmocka_unit_test(misnamed_plugin_is_refused),
        cmocka_unit_test(unknown_backend_lists_path_and_backends),
        cmocka_unit_test(invalid_backend_names_are_refused),
        cmocka_unit_test(not_a_shared_object_is_reported),
        cmocka_unit_test(world_writable_plugin_is_refused),
        cmocka_unit_test(plugin_of_another_user_is_refused),
        cmocka_unit_test(first_directory_on_the_path_wins),
        cmocka_unit_test(relative_and_empty_directories_are_never_searched),
        cmocka_unit_test(builtin_local_is_the_fallback),
        cmocka_unit_test(scan_reports_good_and_broken_plugins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
