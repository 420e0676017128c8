"""The numba kernels of htmagent's classic HTM and cortex: arrays and scalars in, arrays out.

One module per class that uses them: ``connections`` (dendrite segments and synapses), ``spatial_pooler``,
``temporal_memory``, ``object_layer`` (L2/3) and ``predictor`` (the SDR classifier). Conventions, the same
everywhere: a kernel takes, in order, the state it mutates, this step's activity, then configuration; it never
sees a Python object; it is compiled through :func:`htmagent._numba.kernel` (``cache=True``, ``nogil=True``), and
each kernel has a slow, obvious NumPy twin in ``tests/reference/`` with a test that the two agree. The public class
validates its input and allocates once, calls the kernel, and wraps the result.

The sub-packages that install beside this one keep their kernels next to their code under the same rules:
``htmagent.gridcells._kernels`` (path integration, bump activity) and the hash kernels of ``htmagent.encoders``
(``base.mix64``, ``rdse``, ``coordinate``).

numba caches compiled code per source file in ``__pycache__``; a cache entry written for another layout of the
package (another file name) is simply never looked up, so stale entries cost disk space, never an import.
"""
