/* fault_matrix.h — the generic half of the fault matrices (test_b2_fault_matrix.c,
 * test_s3_fault_matrix.c): one CMocka test per cell (fault row × operation), the table of what
 * each cell came to, and the checks every cell of every backend shares. */
#ifndef FAULT_MATRIX_H
#define FAULT_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "test_util.h"

struct fault_matrix {
    size_t rows, ops;
    const char *(*row_name)(size_t row);
    const char *const *op_names; /* ops of them */
    /* Runs the cell and writes what it came to into result ("ok", "-" for a cell the fault does
     * not apply to, ...); a failed assertion leaves "FAIL" there. */
    void (*run)(size_t row, size_t op, char *result, size_t size);
    int (*setup)(void **state), (*teardown)(void **state); /* once for the whole matrix */
    const char *legend; /* printed under the table, each line starting with "# " */
};

/* Runs every cell as its own test (named "row / operation"), prints the table, and returns the
 * number of failed cells (what main returns). */
int fault_matrix_main(const struct fault_matrix *matrix);

/* A failure is one line on stderr, starting with "stor: ". */
void fault_matrix_assert_one_line_error(const struct test_run *run);

/* The same after any number of warnings (lines with ": warning: "): one line that is not one. */
void fault_matrix_assert_one_error_line(const struct test_run *run);

/* A loopback port nothing answers on: bound, never listened on, closed. */
uint16_t fault_matrix_closed_port(void);

#endif
