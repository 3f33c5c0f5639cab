/*
 * ecssim.placement._keyed: the keyed placement decision's scan, compiled.
 *
 * ecssim.placement.engine._place_keyed decides [spread by attribute,] binpack on the cluster
 * state's binpack keys: the least resource left where the task fits, NO_FIT where it does not,
 * plus NO_FIT on the rows outside the spread level being tried. The choice is the lowest key,
 * and among the rows holding it one drawn at random from the cluster's placement stream.
 *
 * With numpy that is four array calls a decision (add, argmin, ==, nonzero), each about 1.5 us
 * of fixed cost whatever the array's length, and each leaving a temporary array behind. Here it
 * is one call: a pass for the lowest key, a pass counting the rows that hold it, one draw, and
 * a pass to the drawn row. The first two passes are plain loops that compilers vectorise.
 *
 * The draw is numpy's own: the same 32-bit outputs of the same bit generator (through the
 * capsule numpy hands out for this) and the same Lemire method as Generator.integers, so the
 * stream and the chosen row are those of engine._choose_numpy, which is used when this module
 * was not built. tests/test_placement.py checks that the two agree.
 *
 * Only the standard C library and Python's C API: no numpy headers are needed to build it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ecssim.state.NO_FIT; tests/test_placement.py checks that the two agree. */
#define NO_FIT (1 << 29)
/* Rows counted at once while looking for the drawn row. */
#define BLOCK 64

/* numpy's bitgen_t (numpy/random/bitgen.h), the struct behind a BitGenerator's "capsule". */
typedef struct {
    void *state;
    uint64_t (*next_uint64)(void *state);
    uint32_t (*next_uint32)(void *state);
    double (*next_double)(void *state);
    uint64_t (*next_raw)(void *state);
} bitgen_t;

/* The lowest of keys[i] (+ penalty[i]), at most NO_FIT. */
static int32_t
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

/* How many of keys[i] (+ penalty[i]) equal best. */
static Py_ssize_t
count_equal(const int32_t *keys, const int32_t *penalty, Py_ssize_t n, int32_t best)
{
    Py_ssize_t count = 0;
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

/* The row of the nth (from 0) key equal to best, counting whole blocks first. */
static Py_ssize_t
nth_equal(const int32_t *keys, const int32_t *penalty, Py_ssize_t n, int32_t best,
          Py_ssize_t nth)
{
    Py_ssize_t start = 0;
    for (; start + BLOCK <= n; start += BLOCK) {
        Py_ssize_t count =
            count_equal(keys + start, penalty ? penalty + start : NULL, BLOCK, best);
        if (nth < count) {
            break;
        }
        nth -= count;
    }
    for (Py_ssize_t i = start; i < n; i++) {
        int32_t key = penalty ? keys[i] + penalty[i] : keys[i];
        if (key == best && nth-- == 0) {
            return i;
        }
    }
    return -1; /* not reached: nth < the count of equal keys */
}

/* "bit_generator" and "capsule", interned once. */
static PyObject *str_bit_generator, *str_capsule;

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

/* Take an int32 vector; 0 and a TypeError unless it is one. */
static int
get_int32(PyObject *object, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return 0;
    }
    const char *format = view->format;
    if (format[0] == '=' || format[0] == '<' || format[0] == '@') {
        format++;
    }
    if (view->ndim != 1 || view->itemsize != 4 || strcmp(format, "i") != 0) {
        PyErr_Format(PyExc_TypeError, "choose: %s must be a 1-d int32 array", what);
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
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
    Py_buffer keys_view, penalty_view;
    if (!get_int32(args[0], &keys_view, "keys")) {
        return NULL;
    }
    const int32_t *penalty = NULL;
    int has_penalty = args[1] != Py_None;
    if (has_penalty) {
        if (!get_int32(args[1], &penalty_view, "penalty")) {
            PyBuffer_Release(&keys_view);
            return NULL;
        }
        if (penalty_view.len != keys_view.len) {
            PyErr_SetString(PyExc_ValueError, "choose: keys and penalty differ in length");
            PyBuffer_Release(&penalty_view);
            PyBuffer_Release(&keys_view);
            return NULL;
        }
        penalty = penalty_view.buf;
    }
    const int32_t *keys = keys_view.buf;
    Py_ssize_t n = keys_view.len / 4;
    Py_ssize_t row = -1;
    if (n >= 0x7FFFFFFF) {
        PyErr_SetString(PyExc_ValueError, "choose: more than 2**31 - 1 rows");
    }
    else {
        int32_t best = lowest(keys, penalty, n);
        if (best < NO_FIT) {
            Py_ssize_t count = count_equal(keys, penalty, n, best);
            Py_ssize_t nth = count > 1 ? below(bits, (uint32_t)count) : 0;
            row = nth_equal(keys, penalty, n, best, nth);
        }
    }
    if (has_penalty) {
        PyBuffer_Release(&penalty_view);
    }
    PyBuffer_Release(&keys_view);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromSsize_t(row);
}

PyDoc_STRVAR(levels_doc,
"levels(totals, held) -> list[tuple[int, ...]] | None\n"
"\n"
"engine._levels_numpy's result: the values ``held`` (indexes into the list ``totals``, in\n"
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

static PyMethodDef methods[] = {
    {"choose", (PyCFunction)(void (*)(void))choose, METH_FASTCALL, choose_doc},
    {"levels", (PyCFunction)(void (*)(void))levels, METH_FASTCALL, levels_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "ecssim.placement._keyed",
    "The keyed placement decision's scan, compiled (see _keyed.c and engine._choose_numpy).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__keyed(void)
{
    str_bit_generator = PyUnicode_InternFromString("bit_generator");
    str_capsule = PyUnicode_InternFromString("capsule");
    if (str_bit_generator == NULL || str_capsule == NULL) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "NO_FIT", NO_FIT) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
