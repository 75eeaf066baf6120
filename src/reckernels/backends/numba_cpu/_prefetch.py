"""Software prefetch for Numba kernels (LLVM's llvm.prefetch), which numba does not expose.

``prefetch_row(A, r)`` asks for every cache line of row r of a C-contiguous 2-d array;
``prefetch_item(a, i)`` for the line holding a[i] of a 1-d array. Both are hints (for
writing, high locality): they change no result, and an out-of-range address cannot fault.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)


def _call_prefetch(builder, address):
    fnty = ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
    builder.call(fn, [address, _I32(1), _I32(3), _I32(1)])  # write, keep in all levels, data cache


def _pointer(context, builder, aryty, ary, index):
    return builder.bitcast(cgutils.get_item_pointer2(
        context, builder, ary.data, cgutils.unpack_tuple(builder, ary.shape),
        cgutils.unpack_tuple(builder, ary.strides), aryty.layout, index), _I8P)


@intrinsic
def prefetch_row(typingctx, arr, row):
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.layout == "C" and isinstance(row, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        aryty, rowty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        r = context.cast(builder, args[1], rowty, types.intp)
        base = _pointer(context, builder, aryty, ary, [r, zero])
        ncols = cgutils.unpack_tuple(builder, ary.shape)[1]
        nbytes = builder.mul(ncols, context.get_constant(types.intp, aryty.dtype.bitwidth // 8))
        with cgutils.for_range_slice(builder, zero, nbytes, context.get_constant(types.intp, 64)) as (off, _):
            _call_prefetch(builder, builder.gep(base, [off]))
        return context.get_dummy_value()

    return types.void(arr, row), codegen


@intrinsic
def prefetch_item(typingctx, arr, index):
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        i = context.cast(builder, args[1], idxty, types.intp)
        _call_prefetch(builder, _pointer(context, builder, aryty, ary, [i]))
        return context.get_dummy_value()

    return types.void(arr, index), codegen
