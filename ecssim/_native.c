/*
 * ecssim._native: the few steps of a task's lifecycle that ecssim runs compiled.
 *
 * Each has a Python version that makes exactly the same changes and choices, used when this
 * module was not built (no C compiler at install); tests run both. docs/design.md says why
 * these steps and not others: each was a fixed cost paid on every decision or reservation,
 * made of numpy calls or element updates whose call machinery cost more than their work.
 *
 * - choose: the keyed placement decision's scan (engine._choose_numpy).
 * - levels: a spread's attribute values grouped by the tasks they hold (engine._levels_python).
 * - book: a reservation's or release's row update in the cluster state's ledger, with the
 *   fit masks and binpack keys of the shapes that need only CPU and memory and the group's
 *   value totals for spread (ClusterState._book_python).
 * - expand: a series' change records expanded into the rows of the levels they move, each
 *   with the level after its change, when the series channel packs (metrics._expand_numpy).
 * - Queue: SimPy's pending events, ordered as SimPy orders them (environment._HeapQueue).
 * - write_rows: rows' numbers packed onto a channel's binary records, as struct packs them
 *   (metrics._write_rows_python).
 *
 * The keyed scan. engine._place_keyed decides [spread by attribute,] binpack on the cluster
 * state's binpack keys: the least resource left where the task fits, NO_FIT where it does
 * not, plus NO_FIT on the rows outside the spread level being tried. The choice is the lowest
 * key, and among the rows holding it one drawn at random from the cluster's placement stream.
 * With numpy that is four array calls a decision (add, argmin, ==, nonzero), each about 1.5 us
 * of fixed cost whatever the array's length, and each leaving a temporary array behind. Here
 * it is one call: a pass for each block of 64 rows' lowest key (a plain loop that compilers
 * vectorise), a count of the rows holding the lowest in the blocks that hold it, one draw, and
 * a walk to the drawn row over those blocks' counts. Only the first pass reads every row: at
 * 10,000 rows, counting and walking over all of them cost three times what the pass does.
 * The draw is numpy's own: the same 32-bit outputs of the same bit generator (through the
 * capsule numpy hands out for this) and the same Lemire method as Generator.integers.
 *
 * Arrays are read through numpy's C API (their data pointers), not the buffer protocol: a
 * buffer export of a numpy array costs 150-250 ns, several times the work done on it here.
 * Building it needs numpy's headers (a build requirement in pyproject.toml).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

/* ecssim.state.NO_FIT; tests/test_placement.py checks that the two agree. */
#define NO_FIT (1 << 29)
/* Rows a block. The first pass keeps each block's lowest key, so that counting the rows that
 * hold the lowest and finding the drawn one visit only the blocks holding it. */
#define BLOCK 64
/* Blocks whose lowest keys choose keeps on its stack (16,384 rows); longer vectors allocate. */
#define STACK_BLOCKS 256

/* numpy's bitgen_t (numpy/random/bitgen.h), the struct behind a BitGenerator's "capsule". */
typedef struct {
    void *state;
    uint64_t (*next_uint64)(void *state);
    uint32_t (*next_uint32)(void *state);
    double (*next_double)(void *state);
    uint64_t (*next_raw)(void *state);
} bitgen_t;

/* The two scans are compiled twice on x86-64 with GCC and glibc, for AVX2 and the baseline,
 * and the loader picks one for the machine (function multiversioning, which needs glibc).
 * Elsewhere they are compiled once, for the baseline. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define SCAN __attribute__((target_clones("avx2", "default")))
#else
#define SCAN
#endif

/* The lowest of keys[i] (+ penalty[i]), at most NO_FIT. */
static inline int32_t
lowest(const int32_t *keys, const int32_t *penalty, Py_ssize_t n)
{
    int32_t low = NO_FIT;
    if (penalty == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            int32_t key = keys[i];
            low = key < low ? key : low;
        }
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            int32_t key = keys[i] + penalty[i];
            low = key < low ? key : low;
        }
    }
    return low;
}

/* The lowest keys[i] (+ penalty[i]) of each block of BLOCK rows (the last may be shorter),
 * at most NO_FIT, in lows[block]; returns the lowest of them all. */
SCAN static int32_t
block_lows(const int32_t *keys, const int32_t *penalty, Py_ssize_t n, int32_t *lows)
{
    Py_ssize_t full = n / BLOCK, b = 0;
    int32_t best = NO_FIT;
    for (; b < full; b++) {
        lows[b] = lowest(keys + b * BLOCK, penalty ? penalty + b * BLOCK : NULL, BLOCK);
        best = lows[b] < best ? lows[b] : best;
    }
    if (n > full * BLOCK) {
        lows[b] = lowest(keys + b * BLOCK, penalty ? penalty + b * BLOCK : NULL, n - b * BLOCK);
        best = lows[b] < best ? lows[b] : best;
    }
    return best;
}

/* How many of keys[i] (+ penalty[i]) equal best, for n <= BLOCK rows. */
SCAN static int32_t
count_equal(const int32_t *keys, const int32_t *penalty, Py_ssize_t n, int32_t best)
{
    int32_t count = 0;
    if (penalty == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            count += keys[i] == best;
        }
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            count += keys[i] + penalty[i] == best;
        }
    }
    return count;
}

/* Attribute names, interned once. */
static PyObject *str_bit_generator, *str_capsule, *str_stale;
static PyObject *str_cpu, *str_memory_mib, *str_eni, *str_gpu;

/* The bitgen_t behind a numpy Generator: generator.bit_generator.capsule's pointer. */
static bitgen_t *
bitgen_of(PyObject *generator)
{
    PyObject *bit_generator = PyObject_GetAttr(generator, str_bit_generator);
    if (bit_generator == NULL) {
        return NULL;
    }
    PyObject *capsule = PyObject_GetAttr(bit_generator, str_capsule);
    Py_DECREF(bit_generator);
    if (capsule == NULL) {
        return NULL;
    }
    /* The capsule belongs to the bit generator, which the caller's generator keeps alive. */
    bitgen_t *bits = PyCapsule_GetPointer(capsule, "BitGenerator");
    Py_DECREF(capsule);
    return bits;
}

/* Generator.integers(n) for 2 <= n < 2**32: numpy's Lemire method on 32-bit outputs. */
static Py_ssize_t
below(bitgen_t *bits, uint32_t n)
{
    uint64_t product = (uint64_t)bits->next_uint32(bits->state) * n;
    uint32_t left = (uint32_t)product;
    if (left < n) {
        uint32_t threshold = (uint32_t)(-n) % n; /* (2**32 - n) % n */
        while (left < threshold) {
            product = (uint64_t)bits->next_uint32(bits->state) * n;
            left = (uint32_t)product;
        }
    }
    return (Py_ssize_t)(product >> 32);
}

/* The row of the nth (from 0) of keys[i] (+ penalty[i]) equal to best. lows holds each block's
 * lowest key (block_lows) and becomes each block's count of rows equal to best (0 for the
 * blocks whose lowest is above it) on the way; the draw is one over all of them. */
static Py_ssize_t
nth_lowest(const int32_t *keys, const int32_t *penalty, Py_ssize_t n, int32_t best,
           int32_t *lows, bitgen_t *bits)
{
    Py_ssize_t blocks = (n + BLOCK - 1) / BLOCK, total = 0;
    for (Py_ssize_t b = 0; b < blocks; b++) {
        if (lows[b] == best) {
            Py_ssize_t start = b * BLOCK;
            Py_ssize_t rows = n - start < BLOCK ? n - start : BLOCK;
            lows[b] = count_equal(keys + start, penalty ? penalty + start : NULL, rows, best);
            total += lows[b];
        }
        else {
            lows[b] = 0;
        }
    }
    Py_ssize_t nth = total > 1 ? below(bits, (uint32_t)total) : 0;
    for (Py_ssize_t b = 0; b < blocks; b++) {
        if (nth >= lows[b]) {
            nth -= lows[b];
            continue;
        }
        for (Py_ssize_t i = b * BLOCK;; i++) {
            int32_t key = penalty ? keys[i] + penalty[i] : keys[i];
            if (key == best && nth-- == 0) {
                return i;
            }
        }
    }
    return -1; /* not reached: nth < total */
}

/* The data of a 1-d, C-contiguous numpy array of ``type`` (NPY_INT32, NPY_INT64 or NPY_BOOL),
 * writable if asked, and its length in ``n``; NULL with a TypeError unless it is one. */
static void *
vector(PyObject *object, int type, int writable, Py_ssize_t *n, const char *where,
       const char *what)
{
    if (!PyArray_Check(object)) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be a numpy array", where, what);
        return NULL;
    }
    PyArrayObject *array = (PyArrayObject *)object;
    if (PyArray_NDIM(array) != 1 || PyArray_TYPE(array) != type ||
        !PyArray_IS_C_CONTIGUOUS(array) || (writable && !PyArray_ISWRITEABLE(array))) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be a 1-d contiguous%s %s array", where,
                     what, writable ? " writable" : "",
                     type == NPY_BOOL ? "bool" : type == NPY_INT64 ? "int64" : "int32");
        return NULL;
    }
    *n = PyArray_DIM(array, 0);
    return PyArray_DATA(array);
}

PyDoc_STRVAR(choose_doc,
"choose(keys, penalty, rng) -> int\n"
"\n"
"The row with the lowest keys[row] (+ penalty[row]) below NO_FIT, drawn among the rows that\n"
"hold it from the numpy Generator ``rng`` (one draw, and none for a single row);\n"
"-1 when no row is below NO_FIT. ``keys`` and ``penalty`` (or None) are int32 vectors of one\n"
"length; the generator's stream moves exactly as Generator.integers(count) would move it.");

static PyObject *
choose(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "choose takes 3 arguments: keys, penalty, rng");
        return NULL;
    }
    bitgen_t *bits = bitgen_of(args[2]);
    if (bits == NULL) {
        return NULL;
    }
    Py_ssize_t n, penalty_n;
    const int32_t *keys = vector(args[0], NPY_INT32, 0, &n, "choose", "keys");
    if (keys == NULL) {
        return NULL;
    }
    const int32_t *penalty = NULL;
    if (args[1] != Py_None) {
        penalty = vector(args[1], NPY_INT32, 0, &penalty_n, "choose", "penalty");
        if (penalty == NULL) {
            return NULL;
        }
        if (penalty_n != n) {
            PyErr_SetString(PyExc_ValueError, "choose: keys and penalty differ in length");
            return NULL;
        }
    }
    if (n >= 0x7FFFFFFF) {
        PyErr_SetString(PyExc_ValueError, "choose: more than 2**31 - 1 rows");
        return NULL;
    }
    int32_t on_stack[STACK_BLOCKS];
    int32_t *lows = on_stack;
    Py_ssize_t blocks = (n + BLOCK - 1) / BLOCK;
    if (blocks > STACK_BLOCKS) {
        lows = PyMem_Malloc(blocks * sizeof *lows);
        if (lows == NULL) {
            return PyErr_NoMemory();
        }
    }
    Py_ssize_t row = -1;
    int32_t best = block_lows(keys, penalty, n, lows);
    if (best < NO_FIT) {
        row = nth_lowest(keys, penalty, n, best, lows, bits);
    }
    if (lows != on_stack) {
        PyMem_Free(lows);
    }
    return PyLong_FromSsize_t(row);
}

PyDoc_STRVAR(levels_doc,
"levels(totals, held) -> list[tuple[int, ...]] | None\n"
"\n"
"engine._levels_python's result: the values ``held`` (indexes into the list ``totals``, in\n"
"index order) grouped by their total, fewest first, each group a tuple in index order; None\n"
"when every held value has the same total.");

static PyObject *
levels(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "levels takes a list of totals and a tuple of indexes");
        return NULL;
    }
    PyObject *totals = args[0], *held = args[1];
    Py_ssize_t n = PyTuple_GET_SIZE(held);
    long long stack_totals[16];
    Py_ssize_t stack_order[16];
    long long *total = stack_totals;
    Py_ssize_t *order = stack_order;
    if (n > 16) {
        total = PyMem_Malloc(n * sizeof(long long));
        order = PyMem_Malloc(n * sizeof(Py_ssize_t));
        if (total == NULL || order == NULL) {
            PyMem_Free(total == stack_totals ? NULL : total);
            PyMem_Free(order == stack_order ? NULL : order);
            return PyErr_NoMemory();
        }
    }
    PyObject *result = NULL;
    int distinct = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(held, i));
        if (index == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (index < 0 || index >= PyList_GET_SIZE(totals)) {
            PyErr_SetString(PyExc_IndexError, "levels: a held index is outside the totals");
            goto done;
        }
        total[i] = PyLong_AsLongLong(PyList_GET_ITEM(totals, index));
        if (total[i] == -1 && PyErr_Occurred()) {
            goto done;
        }
        /* Insertion sort by total, stable, so each level keeps index order: n is the number
           of values an attribute has (three zones is typical). */
        Py_ssize_t j = i;
        while (j > 0 && total[order[j - 1]] > total[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        distinct |= i > 0 && total[i] != total[0];
    }
    if (!distinct) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = PyList_New(0);
    if (result == NULL) {
        goto done;
    }
    for (Py_ssize_t start = 0; start < n;) {
        Py_ssize_t end = start + 1;
        while (end < n && total[order[end]] == total[order[start]]) {
            end++;
        }
        PyObject *level = PyTuple_New(end - start);
        if (level == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        for (Py_ssize_t k = start; k < end; k++) {
            PyObject *index = PyTuple_GET_ITEM(held, order[k]);
            PyTuple_SET_ITEM(level, k - start, Py_NewRef(index));
        }
        int failed = PyList_Append(result, level);
        Py_DECREF(level);
        if (failed) {
            Py_CLEAR(result);
            goto done;
        }
        start = end;
    }
done:
    if (total != stack_totals) {
        PyMem_Free(total);
        PyMem_Free(order);
    }
    return result;
}

/* An int attribute of a Python object (a Requirement's), or -1 with an exception set. */
static long
int_attribute(PyObject *object, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(object, name);
    if (value == NULL) {
        return -1;
    }
    long result = PyLong_AsLong(value);
    Py_DECREF(value);
    return result;
}

#define LEDGER 6 /* remaining_cpu, remaining_memory, remaining_eni, remaining_gpu, running, available */

PyDoc_STRVAR(book_doc,
"book(row, requirement, sign, ledger, counts, fits, spreads) -> None\n"
"\n"
"ClusterState._book_python for a requirement without host ports: take one task's CPU, memory,\n"
"ENIs and GPUs from ``row`` (``sign`` 1) or give them back (-1), count it in ``running_tasks``,\n"
"in the group's ``counts`` and in the group's value totals, and bring the shapes in ``fits`` up\n"
"to date on the row. ``spreads`` holds, for each attribute whose totals the group keeps,\n"
"(codes, totals): the attribute's int32 codes and a list of Python ints, index code + 1.\n"
"``ledger`` is (remaining_cpu, remaining_memory, remaining_eni, remaining_gpu, running_tasks,\n"
"available): five int32 vectors and a bool one. ``fits`` holds, for each kept shape that needs\n"
"only CPU and memory, (cpu, memory, mask, cpu_keys or None, memory_keys or None, fit): a shape\n"
"with keys gets its keys written and ``fit.stale`` set; one without, its mask.");

static PyObject *
book(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyTuple_Check(args[3]) || PyTuple_GET_SIZE(args[3]) != LEDGER ||
        !PyTuple_Check(args[5]) || !PyTuple_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "book takes row, requirement, sign, a ledger tuple of 6, "
                                         "counts, fits, spreads");
        return NULL;
    }
    Py_ssize_t row = PyLong_AsSsize_t(args[0]);
    long sign = PyLong_AsLong(args[2]);
    long need[4];
    need[0] = int_attribute(args[1], str_cpu);
    need[1] = int_attribute(args[1], str_memory_mib);
    need[2] = int_attribute(args[1], str_eni);
    need[3] = int_attribute(args[1], str_gpu);
    if (PyErr_Occurred()) {
        return NULL;
    }
    static const char *names[LEDGER + 1] = {"remaining_cpu", "remaining_memory", "remaining_eni",
                                            "remaining_gpu", "running_tasks", "available",
                                            "counts"};
    void *data[LEDGER + 1];
    for (int i = 0; i < LEDGER + 1; i++) {
        PyObject *object = i < LEDGER ? PyTuple_GET_ITEM(args[3], i) : args[4];
        int is_available = i == LEDGER - 1;
        Py_ssize_t n;
        data[i] = vector(object, is_available ? NPY_BOOL : NPY_INT32, !is_available, &n, "book",
                         names[i]);
        if (data[i] == NULL) {
            return NULL;
        }
        if (row < 0 || row >= n) {
            PyErr_Format(PyExc_IndexError, "book: row %zd is outside %s", row, names[i]);
            return NULL;
        }
    }
    /* The value totals are checked before anything is written, so that a bad entry changes
       nothing. */
    PyObject *spreads = args[6];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(spreads); i++) {
        PyObject *entry = PyTuple_GET_ITEM(spreads, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 ||
            !PyList_Check(PyTuple_GET_ITEM(entry, 1))) {
            PyErr_SetString(PyExc_TypeError, "book: a spread is (codes, a list of totals)");
            return NULL;
        }
        Py_ssize_t n;
        int32_t *codes = vector(PyTuple_GET_ITEM(entry, 0), NPY_INT32, 0, &n, "book",
                                "a spread's codes");
        if (codes == NULL) {
            return NULL;
        }
        if (row >= n) {
            PyErr_SetString(PyExc_IndexError, "book: row is outside a spread's codes");
            return NULL;
        }
        Py_ssize_t at = (Py_ssize_t)codes[row] + 1;
        PyObject *totals = PyTuple_GET_ITEM(entry, 1);
        if (at < 0 || at >= PyList_GET_SIZE(totals) ||
            !PyLong_Check(PyList_GET_ITEM(totals, at))) {
            PyErr_SetString(PyExc_IndexError, "book: a row's value has no int total");
            return NULL;
        }
    }
    int32_t cpu_left = 0, memory_left = 0;
    for (int i = 0; i < 4; i++) {
        int32_t *left = (int32_t *)data[i] + row;
        *left -= (int32_t)(sign * need[i]);
        if (i == 0) {
            cpu_left = *left;
        }
        else if (i == 1) {
            memory_left = *left;
        }
    }
    ((int32_t *)data[4])[row] += (int32_t)sign;
    ((int32_t *)data[LEDGER])[row] += (int32_t)sign;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(spreads); i++) {
        PyObject *entry = PyTuple_GET_ITEM(spreads, i);
        int32_t *codes = PyArray_DATA((PyArrayObject *)PyTuple_GET_ITEM(entry, 0));
        PyObject *totals = PyTuple_GET_ITEM(entry, 1);
        Py_ssize_t at = (Py_ssize_t)codes[row] + 1;
        PyObject *old = PyList_GET_ITEM(totals, at);
        long total = PyLong_AsLong(old);
        if (total == -1 && PyErr_Occurred()) {
            return NULL;
        }
        PyObject *changed = PyLong_FromLong(total + sign);
        if (changed == NULL) {
            return NULL;
        }
        PyList_SET_ITEM(totals, at, changed);
        Py_DECREF(old);
    }
    int available = ((npy_bool *)data[5])[row] != 0;

    PyObject *fits = args[5];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fits); i++) {
        PyObject *entry = PyTuple_GET_ITEM(fits, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 6) {
            PyErr_SetString(PyExc_TypeError, "book: a fit is (cpu, memory, mask, keys, keys, fit)");
            return NULL;
        }
        long cpu = PyLong_AsLong(PyTuple_GET_ITEM(entry, 0));
        long memory = PyLong_AsLong(PyTuple_GET_ITEM(entry, 1));
        if (PyErr_Occurred()) {
            return NULL;
        }
        int fits_here = available && cpu_left >= cpu && memory_left >= memory;
        PyObject *keys[2] = {PyTuple_GET_ITEM(entry, 3), PyTuple_GET_ITEM(entry, 4)};
        int32_t value[2] = {fits_here ? cpu_left : NO_FIT, fits_here ? memory_left : NO_FIT};
        int keyed = 0;
        for (int k = 0; k < 2; k++) {
            if (keys[k] == Py_None) {
                continue;
            }
            Py_ssize_t n;
            int32_t *column = vector(keys[k], NPY_INT32, 1, &n, "book", "a fit's keys");
            if (column == NULL) {
                return NULL;
            }
            if (row >= n) {
                PyErr_SetString(PyExc_IndexError, "book: row is outside a fit's keys");
                return NULL;
            }
            column[row] = value[k];
            keyed = 1;
        }
        if (keyed) {
            if (PyObject_SetAttr(PyTuple_GET_ITEM(entry, 5), str_stale, Py_True) < 0) {
                return NULL;
            }
        }
        else {
            Py_ssize_t n;
            npy_bool *mask = vector(PyTuple_GET_ITEM(entry, 2), NPY_BOOL, 1, &n, "book",
                                    "a fit's mask");
            if (mask == NULL) {
                return NULL;
            }
            if (row >= n) {
                PyErr_SetString(PyExc_IndexError, "book: row is outside a fit's mask");
                return NULL;
            }
            mask[row] = (npy_bool)fits_here;
        }
    }
    Py_RETURN_NONE;
}

/* One of the series' binary records (metrics.Channel's record of a SeriesRow's numbers and
 * codes, in metrics.SERIES_RECORD's order), read through an int64 view of the records. */
typedef struct {
    double t, value;
    int64_t metric, cluster, service, container_instance;
} series_record_t;

#define RECORD_WORDS ((Py_ssize_t)(sizeof(series_record_t) / sizeof(int64_t)))

PyDoc_STRVAR(expand_doc,
"expand(records, out, rows, plan, level_info, levels, width) -> None\n"
"\n"
"The series' records with each change record (metric code -2 and below) expanded into the\n"
"level rows it stands for, written to ``out`` in order (metrics._expand_numpy, its twin).\n"
"``records`` and ``out`` are the records viewed as int64 (6 words a record); ``rows[kind]``\n"
"is how many rows a change record of kind -2 - metric makes, ``plan`` holds each of them as\n"
"(level, by_value, by_service, constant) for kind * longest + j, ``level_info`` each level's\n"
"(metric code, per instance). A row's level moves by value * by_value + service * by_service\n"
"+ constant in ``levels`` (level * width + the cluster's or the instance's code) and the row\n"
"holds the level after it. Nothing is written if a change record names no cluster or\n"
"instance for a level (ValueError) or a code beyond ``width`` (IndexError).");

static PyObject *
expand(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "expand takes 7 arguments: records, out, rows, plan, level_info, "
                        "levels, width");
        return NULL;
    }
    Py_ssize_t n_words, n_out_words, n_kinds, n_plan, n_info, n_levels;
    int64_t *in_words = vector(args[0], NPY_INT64, 0, &n_words, "expand", "records");
    if (in_words == NULL) {
        return NULL;
    }
    int64_t *out_words = vector(args[1], NPY_INT64, 1, &n_out_words, "expand", "out");
    if (out_words == NULL) {
        return NULL;
    }
    int64_t *rows = vector(args[2], NPY_INT64, 0, &n_kinds, "expand", "rows");
    if (rows == NULL) {
        return NULL;
    }
    int64_t *plan = vector(args[3], NPY_INT64, 0, &n_plan, "expand", "plan");
    if (plan == NULL) {
        return NULL;
    }
    int64_t *info = vector(args[4], NPY_INT64, 0, &n_info, "expand", "level_info");
    if (info == NULL) {
        return NULL;
    }
    int64_t *levels = vector(args[5], NPY_INT64, 1, &n_levels, "expand", "levels");
    if (levels == NULL) {
        return NULL;
    }
    Py_ssize_t width = PyLong_AsSsize_t(args[6]);
    if (width == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (n_words % RECORD_WORDS || n_out_words % RECORD_WORDS || n_kinds == 0 ||
        n_plan % (4 * n_kinds) || n_info % 2 || width < 0 || n_levels != width * (n_info / 2)) {
        PyErr_SetString(PyExc_ValueError,
                        "expand: records and out must be whole records, plan 4 words a row of "
                        "each kind, level_info 2 a level, levels width a level");
        return NULL;
    }
    const series_record_t *in = (const series_record_t *)in_words;
    series_record_t *out = (series_record_t *)out_words;
    Py_ssize_t n = n_words / RECORD_WORDS, n_out = n_out_words / RECORD_WORDS;
    Py_ssize_t longest = n_plan / (4 * n_kinds), n_level = n_info / 2;
    /* A first pass checks everything, so that a refused call moves no level. */
    Py_ssize_t made = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t metric = in[i].metric;
        if (metric >= -1) {
            made++;
            continue;
        }
        int64_t kind = -2 - metric;
        if (kind >= n_kinds || rows[kind] < 0 || rows[kind] > longest) {
            PyErr_Format(PyExc_ValueError, "expand: no change record has metric code %lld",
                         (long long)metric);
            return NULL;
        }
        for (int64_t j = 0; j < rows[kind]; j++) {
            int64_t level = plan[4 * (kind * longest + j)];
            if (level < 0 || level >= n_level) {
                PyErr_Format(PyExc_ValueError, "expand: level %lld is not kept",
                             (long long)level);
                return NULL;
            }
            int64_t id = info[2 * level + 1] ? in[i].container_instance : in[i].cluster;
            if (id < 0) {
                PyErr_SetString(PyExc_ValueError,
                                "a series change record names no cluster or no container "
                                "instance");
                return NULL;
            }
            if (id >= width) {
                PyErr_Format(PyExc_IndexError, "expand: code %lld is beyond width %zd",
                             (long long)id, width);
                return NULL;
            }
        }
        made += rows[kind];
    }
    if (made != n_out) {
        PyErr_Format(PyExc_ValueError, "expand: the records make %zd rows, out holds %zd", made,
                     n_out);
        return NULL;
    }
    series_record_t *row = out;
    for (Py_ssize_t i = 0; i < n; i++) {
        const series_record_t *record = &in[i];
        if (record->metric >= -1) {
            *row++ = *record;
            continue;
        }
        int64_t kind = -2 - record->metric;
        int64_t value = (int64_t)record->value; /* as numpy's astype(int64): toward zero */
        for (int64_t j = 0; j < rows[kind]; j++) {
            const int64_t *step = &plan[4 * (kind * longest + j)];
            int64_t level = step[0];
            int per_instance = info[2 * level + 1] != 0;
            int64_t id = per_instance ? record->container_instance : record->cluster;
            int64_t *kept = &levels[level * width + id];
            *kept += value * step[1] + record->service * step[2] + step[3];
            row->t = record->t;
            row->value = (double)*kept;
            row->metric = info[2 * level];
            row->cluster = record->cluster;
            row->service = -1;
            row->container_instance = per_instance ? id : -1;
            row++;
        }
    }
    Py_RETURN_NONE;
}

/*
 * A row's numbers onto a channel's records. The recorder keeps each channel's rows as
 * fixed-size little-endian records at the end of one bytearray (metrics.Channel). With struct
 * that is a pack into a new bytes object and an extend that copies it: two calls, an object
 * made and freed, and struct's general format loop for each of a lifecycle's five records.
 * Here each value is converted once, onto the stack and then to the bytearray's new end (so a
 * value that cannot be converted leaves the records as they were): 3.2 % fewer instructions a
 * lifecycle. Its Python twin is metrics._write_rows_python (struct's "<" + formats).
 */
PyDoc_STRVAR(write_rows_doc,
"write_rows(buffer, formats, *values) -> None\n"
"\n"
"Append ``values`` to the bytearray ``buffer`` as ``struct.pack('<' + formats, *values)`` would\n"
"pack them: ``formats`` (bytes) holds one of d (float64), q (int64) and ? (bool) a value.\n"
"Nothing is appended when a value cannot be converted.");

/* Values a row packed on the stack; longer rows (several at once) allocate. */
#define STACK_VALUES 64

static PyObject *
write_rows(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "write_rows takes buffer, formats, *values");
        return NULL;
    }
    PyObject *buffer = args[0];
    if (!PyByteArray_Check(buffer)) {
        PyErr_SetString(PyExc_TypeError, "write_rows: buffer must be a bytearray");
        return NULL;
    }
    if (!PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "write_rows: formats must be bytes");
        return NULL;
    }
    const char *formats = PyBytes_AS_STRING(args[1]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[1]);
    if (nargs - 2 != n) {
        PyErr_Format(PyExc_TypeError, "write_rows: %zd formats but %zd values", n, nargs - 2);
        return NULL;
    }
    unsigned char stack[STACK_VALUES * 8];
    unsigned char *packed = stack;
    if (n > STACK_VALUES) {
        packed = PyMem_Malloc(n * 8);
        if (packed == NULL) {
            return PyErr_NoMemory();
        }
    }
    unsigned char *at = packed;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = args[i + 2];
        if (formats[i] == 'd') {
            double x = PyFloat_AsDouble(value);
            if ((x == -1.0 && PyErr_Occurred()) || PyFloat_Pack8(x, (char *)at, 1) < 0) {
                goto fail;
            }
            at += 8;
        }
        else if (formats[i] == 'q') {
            long long x = PyLong_AsLongLong(value);
            if (x == -1 && PyErr_Occurred()) {
                goto fail;
            }
            for (int b = 0; b < 8; b++) { /* little-endian, whatever the machine's order */
                at[b] = (unsigned char)((unsigned long long)x >> (8 * b));
            }
            at += 8;
        }
        else if (formats[i] == '?') {
            int x = PyObject_IsTrue(value);
            if (x < 0) {
                goto fail;
            }
            *at++ = (unsigned char)x;
        }
        else {
            PyErr_Format(PyExc_ValueError, "write_rows: unknown format %c", formats[i]);
            goto fail;
        }
    }
    Py_ssize_t old = PyByteArray_GET_SIZE(buffer), size = at - packed;
    if (PyByteArray_Resize(buffer, old + size) < 0) {
        goto fail;
    }
    memcpy(PyByteArray_AS_STRING(buffer) + old, packed, size);
    if (packed != stack) {
        PyMem_Free(packed);
    }
    Py_RETURN_NONE;
fail:
    if (packed != stack) {
        PyMem_Free(packed);
    }
    return NULL;
}

/*
 * The event queue. SimPy keeps its pending events as (time, priority, id, event) tuples in a
 * heapq list, so each comparison of a pop or push reads two tuples and their float objects:
 * with tens of thousands of pending events those reads miss the caches. Queue keeps the same
 * keys as plain numbers in one array beside the events, and orders them the same way (time,
 * then priority, then the order of scheduling), so the events come out in SimPy's order.
 * Its Python twin is ecssim.environment._HeapQueue.
 */
typedef struct {
    double time;
    long priority;
    long long id;
    PyObject *event;
} entry_t;

typedef struct {
    PyObject_HEAD
    entry_t *entries;
    Py_ssize_t size, capacity;
    long long scheduled; /* entries pushed so far: the next one's id */
} QueueObject;

static inline int
entry_before(const entry_t *a, const entry_t *b)
{
    if (a->time != b->time) {
        return a->time < b->time;
    }
    if (a->priority != b->priority) {
        return a->priority < b->priority;
    }
    return a->id < b->id;
}

PyDoc_STRVAR(queue_push_doc,
"push(time, priority, event) -> None\n"
"\n"
"Schedule ``event`` at ``time`` (a number) with ``priority`` (an int, lower first); events with\n"
"equal time and priority come out in the order they were pushed.");

static PyObject *
queue_push(QueueObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "push takes time, priority, event");
        return NULL;
    }
    double time = PyFloat_AsDouble(args[0]);
    if (time == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    long priority = PyLong_AsLong(args[1]);
    if (priority == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (self->size == self->capacity) {
        Py_ssize_t capacity = self->capacity ? 2 * self->capacity : 1024;
        entry_t *grown = PyMem_Realloc(self->entries, capacity * sizeof *grown);
        if (grown == NULL) {
            return PyErr_NoMemory();
        }
        self->entries = grown;
        self->capacity = capacity;
    }
    entry_t new = {time, priority, self->scheduled++, Py_NewRef(args[2])};
    entry_t *heap = self->entries;
    Py_ssize_t at = self->size++;
    while (at > 0) {
        Py_ssize_t parent = (at - 1) / 2;
        if (!entry_before(&new, &heap[parent])) {
            break;
        }
        heap[at] = heap[parent];
        at = parent;
    }
    heap[at] = new;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(queue_pop_doc,
"pop() -> (time, event)\n"
"\n"
"Remove the first event (lowest time, then priority, then the first pushed) and return it with\n"
"its time as a float; IndexError when the queue is empty.");

static PyObject *
queue_pop(QueueObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->size == 0) {
        PyErr_SetString(PyExc_IndexError, "pop from an empty event queue");
        return NULL;
    }
    entry_t *heap = self->entries;
    entry_t first = heap[0];
    entry_t last = heap[--self->size];
    Py_ssize_t n = self->size, at = 0;
    for (;;) {
        Py_ssize_t child = 2 * at + 1;
        if (child >= n) {
            break;
        }
        if (child + 1 < n && entry_before(&heap[child + 1], &heap[child])) {
            child++;
        }
        if (!entry_before(&heap[child], &last)) {
            break;
        }
        heap[at] = heap[child];
        at = child;
    }
    if (n > 0) {
        heap[at] = last;
    }
    PyObject *time = PyFloat_FromDouble(first.time);
    if (time == NULL) {
        Py_DECREF(first.event);
        return NULL;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(time);
        Py_DECREF(first.event);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, time);
    PyTuple_SET_ITEM(result, 1, first.event); /* the queue's reference moves to the tuple */
    return result;
}

PyDoc_STRVAR(queue_peek_doc,
"peek() -> float\n"
"\n"
"The time of the first event, or inf when the queue is empty.");

static PyObject *
queue_peek(QueueObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyFloat_FromDouble(self->size ? self->entries[0].time : Py_HUGE_VAL);
}

static PyObject *
queue_scheduled(QueueObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(self->scheduled);
}

static Py_ssize_t
queue_length(QueueObject *self)
{
    return self->size;
}

static int
queue_traverse(QueueObject *self, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < self->size; i++) {
        Py_VISIT(self->entries[i].event);
    }
    return 0;
}

static int
queue_clear(QueueObject *self)
{
    Py_ssize_t n = self->size;
    self->size = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_CLEAR(self->entries[i].event);
    }
    return 0;
}

static void
queue_dealloc(QueueObject *self)
{
    PyObject_GC_UnTrack(self);
    queue_clear(self);
    PyMem_Free(self->entries);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
queue_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Queue() takes no arguments");
        return NULL;
    }
    QueueObject *self = (QueueObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->entries = NULL;
        self->size = self->capacity = 0;
        self->scheduled = 0;
    }
    return (PyObject *)self;
}

static PyMethodDef queue_methods[] = {
    {"push", (PyCFunction)(void (*)(void))queue_push, METH_FASTCALL, queue_push_doc},
    {"pop", (PyCFunction)queue_pop, METH_NOARGS, queue_pop_doc},
    {"peek", (PyCFunction)queue_peek, METH_NOARGS, queue_peek_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef queue_getset[] = {
    {"scheduled", (getter)queue_scheduled, NULL, "Events pushed so far.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods queue_as_sequence = {
    .sq_length = (lenfunc)queue_length,
};

static PyTypeObject QueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ecssim._native.Queue",
    .tp_doc = PyDoc_STR("SimPy's pending events ordered by (time, priority, order of scheduling), "
                        "kept as numbers (see _native.c)."),
    .tp_basicsize = sizeof(QueueObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = queue_new,
    .tp_dealloc = (destructor)queue_dealloc,
    .tp_traverse = (traverseproc)queue_traverse,
    .tp_clear = (inquiry)queue_clear,
    .tp_methods = queue_methods,
    .tp_getset = queue_getset,
    .tp_as_sequence = &queue_as_sequence,
};

static PyMethodDef methods[] = {
    {"choose", (PyCFunction)(void (*)(void))choose, METH_FASTCALL, choose_doc},
    {"levels", (PyCFunction)(void (*)(void))levels, METH_FASTCALL, levels_doc},
    {"book", (PyCFunction)(void (*)(void))book, METH_FASTCALL, book_doc},
    {"expand", (PyCFunction)(void (*)(void))expand, METH_FASTCALL, expand_doc},
    {"write_rows", (PyCFunction)(void (*)(void))write_rows, METH_FASTCALL, write_rows_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "ecssim._native",
    "The few lifecycle steps ecssim runs compiled (see _native.c; each has a Python twin).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    import_array();
    str_bit_generator = PyUnicode_InternFromString("bit_generator");
    str_capsule = PyUnicode_InternFromString("capsule");
    str_stale = PyUnicode_InternFromString("stale");
    str_cpu = PyUnicode_InternFromString("cpu");
    str_memory_mib = PyUnicode_InternFromString("memory_mib");
    str_eni = PyUnicode_InternFromString("eni");
    str_gpu = PyUnicode_InternFromString("gpu");
    if (str_bit_generator == NULL || str_capsule == NULL || str_stale == NULL ||
        str_cpu == NULL || str_memory_mib == NULL || str_eni == NULL || str_gpu == NULL) {
        return NULL;
    }
    if (PyType_Ready(&QueueType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddIntConstant(m, "NO_FIT", NO_FIT) < 0 ||
                      PyModule_AddObjectRef(m, "Queue", (PyObject *)&QueueType) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
