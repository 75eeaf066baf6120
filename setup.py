"""Builds the Cython kernels in kernels/*.pyx into reckernels._cy.<name>, with OpenMP."""

import os
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def openmp_flags():
    """(compile, link) flags for OpenMP with this platform's compiler.

    MSVC spells it /openmp. Apple clang has no OpenMP runtime of its own: it takes
    -Xpreprocessor -fopenmp plus libomp's headers and library, found under RECKERNELS_LIBOMP
    (e.g. "$(brew --prefix libomp)"; cibuildwheel sets it) or Homebrew's usual prefixes.
    """
    if sys.platform == "win32":
        if os.environ.get("RECKERNELS_WINDOWS_CC"):  # clang-cl: /openmp means LLVM's libomp
            llvm = Path(os.environ.get("RECKERNELS_LLVM", r"C:\Program Files\LLVM"))
            return ["/openmp"], [f"/LIBPATH:{llvm / 'lib'}", "libomp.lib"]
        return ["/openmp"], []
    if sys.platform == "darwin":
        prefixes = [os.environ.get("RECKERNELS_LIBOMP", ""), "/opt/homebrew/opt/libomp", "/usr/local/opt/libomp"]
        prefix = next((p for p in prefixes if p and Path(p, "include", "omp.h").exists()), None)
        if prefix is None:
            raise SystemExit("reckernels needs libomp on macOS: brew install libomp (or set RECKERNELS_LIBOMP "
                             "to the folder holding include/omp.h and lib/libomp.dylib).")
        return (["-Xpreprocessor", "-fopenmp", f"-I{prefix}/include"],
                [f"-L{prefix}/lib", "-lomp", f"-Wl,-rpath,{prefix}/lib"])
    return ["-fopenmp"], ["-fopenmp"]


compile_omp, link_omp = openmp_flags()
# -g0: no debug info in the shipped .so files (Python's own CFLAGS add -g)
optimise = [] if sys.platform == "win32" else ["-O3", "-g0"]
if os.environ.get("RECKERNELS_NATIVE") == "1":  # local builds only: wheels must run on any CPU
    optimise.append("-march=native")

# RECKERNELS_PYX=similarity,sgd builds only those kernels (for quick development rebuilds)
only = {name for name in os.environ.get("RECKERNELS_PYX", "").split(",") if name}

HEADERS = sorted(str(p) for pattern in ("*.h", "*.pxi") for p in Path("kernels").glob(pattern))

extensions = [
    Extension(
        f"reckernels._cy.{pyx.stem}",
        [str(pyx)],
        include_dirs=[np.get_include(), "kernels"],  # kernels/rk_simd.h
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
        extra_compile_args=optimise + compile_omp,
        extra_link_args=link_omp,
        # the C headers and .pxi files every kernel may include: a change to one rebuilds them all
        depends=HEADERS,
    )
    for pyx in sorted(Path("kernels").glob("*.pyx"))
    if not only or pyx.stem in only
]

class BuildExt(build_ext):
    """On Windows, RECKERNELS_WINDOWS_CC=clang-cl swaps cl.exe for clang-cl inside the MSVC
    toolchain (same flags, same linker and runtime): the kernels' C helpers use GCC vector
    extensions (kernels/rk_simd.h), which cl.exe does not compile."""

    def build_extensions(self):
        cc = os.environ.get("RECKERNELS_WINDOWS_CC")
        if cc and self.compiler.compiler_type == "msvc":
            if not getattr(self.compiler, "initialized", False):
                self.compiler.initialize()  # finds link.exe and the SDK; then keep them, with clang-cl
            self.compiler.cc = cc
        super().build_extensions()


setup(ext_modules=cythonize(extensions, language_level=3, compiler_directives={"embedsignature": True}),
      cmdclass={"build_ext": BuildExt})
