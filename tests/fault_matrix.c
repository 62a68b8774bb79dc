/* fault_matrix.c — the cell runner and table of the fault matrices (see fault_matrix.h). */
#include "fault_matrix.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { RESULT_SIZE = 40, NAME_SIZE = 96, COLUMN = 28 };

static const struct fault_matrix *running;
static char (*results)[RESULT_SIZE]; /* rows × ops */

struct cell {
    size_t row, op;
};

static void run_one_cell(void **state)
{
    const struct cell *cell = *state;
    char *result = results[cell->row * running->ops + cell->op];
    snprintf(result, RESULT_SIZE, "FAIL"); /* what stays when an assertion ends the cell */
    char came_to[RESULT_SIZE] = "";
    running->run(cell->row, cell->op, came_to, sizeof came_to);
    snprintf(result, RESULT_SIZE, "%s", came_to);
}

static void print_table(void)
{
    printf("# %-*s", COLUMN, "failure point");
    for (size_t op = 0; op < running->ops; op++)
        printf(" | %-*s", COLUMN, running->op_names[op]);
    printf("\n");
    for (size_t row = 0; row < running->rows; row++) {
        printf("# %-*s", COLUMN, running->row_name(row));
        for (size_t op = 0; op < running->ops; op++) {
            const char *result = results[row * running->ops + op];
            printf(" | %-*s", COLUMN, result[0] ? result : "FAIL");
        }
        printf("\n");
    }
    printf("%s", running->legend);
    fflush(stdout);
}

int fault_matrix_main(const struct fault_matrix *matrix)
{
    size_t count = matrix->rows * matrix->ops;
    struct CMUnitTest *tests = calloc(count, sizeof *tests);
    struct cell *cells = calloc(count, sizeof *cells);
    char (*names)[NAME_SIZE] = calloc(count, sizeof *names);
    results = calloc(count, sizeof *results);
    if (!tests || !cells || !names || !results) {
        fprintf(stderr, "fault_matrix: out of memory\n");
        return 1;
    }
    running = matrix;
    for (size_t row = 0; row < matrix->rows; row++)
        for (size_t op = 0; op < matrix->ops; op++) {
            size_t i = row * matrix->ops + op;
            cells[i] = (struct cell){row, op};
            snprintf(names[i], sizeof names[i], "%s / %s", matrix->row_name(row), matrix->op_names[op]);
            tests[i] = (struct CMUnitTest){names[i], run_one_cell, NULL, NULL, &cells[i]};
        }
    int failed = _cmocka_run_group_tests("tests", tests, count, matrix->setup, matrix->teardown);
    print_table();
    free(tests);
    free(cells);
    free(names);
    free(results);
    return failed;
}

void fault_matrix_assert_one_line_error(const struct test_run *run)
{
    const char *newline = strchr(run->err, '\n');
    if (strncmp(run->err, "stor: ", 6) != 0 || !newline || newline - run->err + 1 != (long)strlen(run->err))
        fail_msg("not one stor: line: %s", run->err);
}

void fault_matrix_assert_one_error_line(const struct test_run *run)
{
    int errors = 0;
    const char *line = run->err;
    for (const char *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end)
            fail_msg("stderr does not end with a newline: %s", run->err);
        if (strncmp(line, "stor: ", 6) != 0)
            fail_msg("a line not from stor: %s", run->err);
        const char *warning = strstr(line, ": warning: ");
        errors += !warning || warning > end;
    }
    if (errors != 1)
        fail_msg("%d error lines: %s", errors, run->err);
}

uint16_t fault_matrix_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd); /* bound, never listened: nothing answers there now */
    return ntohs(addr.sin_port);
}
