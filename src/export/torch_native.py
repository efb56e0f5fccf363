# ---- symgrad's native kernels: compiled on first use, cached, loaded with ctypes (docs/export.md) ----
#
# The text from here to the Functions is the same in every module `symgrad export --native` writes; the kernels'
# C++ source, the compiler and the flags above it are this activation's. A group of kernels (forward and backward;
# forward-mode and second derivatives) is compiled for one dtype when a call first needs it, by the compiler that
# built symgrad (SYMGRAD_CXX or CXX override it), with the flags of the widest instruction set this CPU runs, and
# stored in symgrad's kernel cache ($SYMGRAD_CACHE_DIR, else $XDG_CACHE_HOME/symgrad, else ~/.cache/symgrad)
# under a key of everything the object depends on: the source, the compiler's identity, the flags and the CPU. An
# entry is written whole to a temporary file and renamed into place; before it is loaded its key is compared in
# full and its object's SHA-256 checked, so a damaged or foreign entry is compiled again, never loaded.
# Where the kernels cannot serve a call (no compiler, a CUDA or non-contiguous tensor, a dtype other than float32
# and float64, SYMGRAD_JIT=0) the pure-torch Function runs instead, with one warning per reason.


class _Refusal(Exception):
    """Why the native kernels cannot serve a call (the pure-torch Function serves it)."""


_LOCK = threading.Lock()
_LIBRARIES = {}  # (group, dtype) -> {pass name: ctypes function}, or the _Refusal that stopped it
_WARNED = set()
# Objects loaded in this process, by cache name, shared by every module symgrad wrote (a module loaded again, or
# another activation's with the same kernels, reuses them), with the memory files they came from (kept open while
# they are loaded).
_LOADED = sys.modules.setdefault("_symgrad_loaded_kernels", types.ModuleType("_symgrad_loaded_kernels"))
if not hasattr(_LOADED, "objects"):
    _LOADED.objects, _LOADED.memory_files = {}, []
_STATS = {"native": 0, "fallback": 0, "compiled": 0, "from_cache": 0}
_MAGIC = b"symgrad-torch-kernel 1\n"


def native_status():
    """What the native kernels did in this process: calls served natively and by the pure-torch fallback, kernel
    groups compiled and loaded from the cache, the cache directory, and why each group that failed did."""
    status = dict(_STATS)
    status["cache_directory"] = _cache_directory()
    status["refused"] = {f"{group} {str(dtype).replace('torch.', '')}": str(value)
                         for (group, dtype), value in _LIBRARIES.items() if isinstance(value, _Refusal)}
    return status


def _warn_once(reason):
    if reason not in _WARNED:
        _WARNED.add(reason)
        warnings.warn(f"{_NAME}: {reason}", RuntimeWarning, stacklevel=3)


def _cache_directory():
    if os.environ.get("SYMGRAD_CACHE_DIR"):
        return os.environ["SYMGRAD_CACHE_DIR"]
    if os.environ.get("XDG_CACHE_HOME", "").startswith("/"):
        return os.path.join(os.environ["XDG_CACHE_HOME"], "symgrad")
    if os.environ.get("HOME"):
        return os.path.join(os.environ["HOME"], ".cache", "symgrad")
    return ""


def _cpu():
    """The CPU's identity for the cache key, and the kernel set to compile for: the widest of symgrad's that it runs,
    or the one SYMGRAD_ISA names (as symgrad's engine: auto, avx512, avx2 or generic)."""
    identity, flags = platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:  # the first processor's lines, up to its flags
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("vendor_id", "cpu family", "model", "model name", "stepping", "flags"):
                    identity += f"\n{key}: {value.strip()}"
                if key == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    avx2 = {"avx", "avx2", "fma", "bmi1", "bmi2"} <= flags
    runs = ["generic"] + (["avx2"] if avx2 else [])
    if avx2 and {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} <= flags:
        runs.append("avx512")
    forced = os.environ.get("SYMGRAD_ISA", "auto") or "auto"
    if forced == "auto":
        return identity, runs[-1]
    if forced not in ("avx512", "avx2", "generic"):
        raise _Refusal(f"SYMGRAD_ISA={forced}: unknown instruction set '{forced}': expected auto, avx512, avx2 or generic")
    if forced not in runs:
        raise _Refusal(f"SYMGRAD_ISA={forced}: this CPU cannot run the '{forced}' kernels (it runs: {', '.join(reversed(runs))})")
    return identity, forced


def _toolchain():
    """The compiler command and its identity (each executable's resolved path, size and modification time)."""
    command, origin = _COMPILER.split(), "the compiler that built symgrad"
    if command and shutil.which(command[0]) is None:
        command, origin = ["c++"], "c++ on PATH"  # a module taken to another machine
    for variable in ("CXX", "SYMGRAD_CXX"):  # SYMGRAD_CXX wins
        if os.environ.get(variable):
            command, origin = os.environ[variable].split(), f"{variable}={os.environ[variable]}"
    if not command:
        raise _Refusal(f"no C++ compiler ({origin} is empty)")
    identity = "command: " + " ".join(command) + "\n"
    for word in command:
        if word.startswith("-"):
            break
        found = shutil.which(word)
        if found is None:
            raise _Refusal(f"no C++ compiler: '{word}' ({origin}) is not an executable; set SYMGRAD_CXX")
        real = os.path.realpath(found)
        info = os.stat(real)
        identity += f"{real} {info.st_size} {int(info.st_mtime)}\n"
    return command, identity


def _unique(directory, suffix):
    return os.path.join(directory, f"symgrad-tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _read_entry(path, key):
    """The object of a cache entry that is whole and has this key; None otherwise."""
    try:
        with open(path, "rb") as entry:
            data = entry.read()
    except OSError:
        return None
    end = data.find(b"\n", len(_MAGIC))
    if not data.startswith(_MAGIC) or end < 0:
        return None
    try:
        key_size, object_size, digest = data[len(_MAGIC):end].split(b" ")
        key_size, object_size = int(key_size), int(object_size)
    except ValueError:
        return None
    body = memoryview(data)[end + 1:]
    if len(body) != key_size + object_size or body[:key_size] != key:
        return None
    shared_object = bytes(body[key_size:])
    return shared_object if hashlib.sha256(shared_object).hexdigest().encode() == digest else None


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _load(shared_object):
    """The object loaded from a memory file (nothing on disk can change under it), else from a temporary file."""
    try:
        fd = os.memfd_create("symgrad-kernel", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        fd = -1
    try:
        if fd >= 0:
            _write_all(fd, shared_object)
            library = ctypes.CDLL(f"/proc/self/fd/{fd}")
            _LOADED.memory_files.append(fd)
            return library
        path = _unique(tempfile.gettempdir(), ".so")
        with open(path, "wb") as file:
            file.write(shared_object)
        try:
            return ctypes.CDLL(path)
        finally:
            os.unlink(path)
    except OSError as error:
        if fd >= 0:
            os.close(fd)
        raise _Refusal(f"the compiled kernels do not load: {error}") from None


def _compile(command, flags, source, directory, name):
    """Compiles source; returns the object and why the cache cannot keep it ("" when it can)."""
    cache_problem = ""
    if not directory:
        cache_problem = "no kernel cache (SYMGRAD_CACHE_DIR, XDG_CACHE_HOME and HOME are unset)"
    else:
        try:
            os.makedirs(directory, exist_ok=True)
            if not os.access(directory, os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as error:
            cache_problem = f"the kernel cache {directory} is not writable ({error.strerror})"
    work = tempfile.gettempdir() if cache_problem else directory
    source_path, object_path = _unique(work, ".cpp"), _unique(work, ".so")
    try:
        with open(source_path, "w") as file:
            file.write(source)
        try:
            result = subprocess.run(command + flags + ["-x", "c++", source_path, "-o", object_path],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        except OSError as error:
            raise _Refusal(f"cannot run the compiler '{command[0]}': {error.strerror}") from None
        except subprocess.TimeoutExpired:
            raise _Refusal(f"the compiler '{command[0]}' ran for more than 600 s") from None
        if result.returncode != 0:
            log = result.stdout.decode(errors="replace").splitlines()
            first = next((line for line in log if "error" in line), log[0] if log else "(no output)")
            kept = os.path.join(work, f"symgrad-failed-{name[:16]}.cpp")
            os.replace(source_path, kept)
            raise _Refusal(f"the compile of the native kernels failed ({command[0]} exited with {result.returncode}: "
                           f"{first}); source kept in {kept}, please report it")
        try:
            with open(object_path, "rb") as file:
                return file.read(), cache_problem
        except OSError:
            raise _Refusal(f"the compiler '{command[0]}' wrote no object") from None
    finally:
        for path in (source_path, object_path):
            try:
                os.unlink(path)
            except OSError:
                pass


def _store(directory, name, key, shared_object):
    """Writes the cache entry whole, under a temporary name, then renames it into place; warns once if it cannot."""
    entry = _MAGIC + f"{len(key)} {len(shared_object)} {hashlib.sha256(shared_object).hexdigest()}\n".encode() + key
    temporary = _unique(directory, ".kernel")
    try:
        with open(temporary, "wb") as file:
            file.write(entry + shared_object)
        os.replace(temporary, os.path.join(directory, name))
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        _warn_once(f"the kernel cache {directory} is not writable ({error.strerror}): "
                   "the kernels are compiled again in each process")


def _entry_points(library, group):
    functions = {}
    for pass_name, (pass_group, _, _) in _PASSES.items():
        if pass_group == group:
            try:
                function = getattr(library, "symgrad_" + pass_name)
            except AttributeError:
                raise _Refusal(f"the compiled kernels have no entry point symgrad_{pass_name}") from None
            function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_longlong]
            function.restype = ctypes.c_int
            functions[pass_name] = function
    return functions


def _build(group, dtype):
    if os.environ.get("SYMGRAD_JIT") == "0":
        raise _Refusal("SYMGRAD_JIT=0 turns the native kernels off")
    if not sys.platform.startswith("linux"):
        raise _Refusal("the native kernels are built on Linux only")
    command, identity = _toolchain()
    cpu, isa = _cpu()
    real = {torch.float32: "float", torch.float64: "double"}[dtype]
    flags = _FLAGS + _ISA_FLAGS.get(isa, []) + ["-DSYMGRAD_REAL=" + real]
    source = _PRELUDE + _KERNELS[group]
    key = f"symgrad-torch {_VERSION}\ncompiler:\n{identity}flags: {' '.join(flags)}\ncpu: {cpu}\n{source}".encode()
    name = hashlib.sha256(key).hexdigest()[:16] + ".kernel"
    if name in _LOADED.objects:  # this process loaded it already (another module, or this one again)
        _STATS["from_cache"] += 1
        return _entry_points(_LOADED.objects[name], group)
    directory = _cache_directory()
    shared_object = _read_entry(os.path.join(directory, name), key) if directory else None
    if shared_object is not None:
        try:
            library = _load(shared_object)
            functions = _entry_points(library, group)
            _LOADED.objects[name] = library
            _STATS["from_cache"] += 1
            return functions
        except _Refusal:  # a whole entry whose object does not serve: compiled again below, and replaced
            pass
    shared_object, cache_problem = _compile(command, flags, source, directory, name)
    library = _load(shared_object)
    functions = _entry_points(library, group)  # (only an object that loads and serves is stored)
    _LOADED.objects[name] = library
    _STATS["compiled"] += 1
    if cache_problem:
        _warn_once(cache_problem + ": the kernels are compiled again in each process")
    else:
        _store(directory, name, key, shared_object)
    return functions


def _kernels(group, dtype):
    """The group's entry points for dtype, built on first use (raises _Refusal)."""
    found = _LIBRARIES.get((group, dtype))
    if found is None:
        with _LOCK:
            found = _LIBRARIES.get((group, dtype))
            if found is None:
                try:
                    found = _build(group, dtype)
                except _Refusal as refusal:
                    found = refusal
                except Exception as error:  # anything else on the way (a file system, a warning made an error)
                    found = _Refusal(f"the native kernels could not be built: {type(error).__name__}: {error}")
                _LIBRARIES[(group, dtype)] = found
    if isinstance(found, _Refusal):
        raise found
    return found


_RUN = 256  # the fewest elements the kernels are given per call of their loop, where the layout allows
_LAYOUTS = {}  # (x's shape, the parameters' shapes) -> _layout's answer (a tuple or a _Refusal), for the calls to come


def _layout(x, params):
    """(mid, inner, lo, hi, spread, rep): the parameters with one value per index vary along x's axes lo..hi (hi < 0:
    none do), mid values in all, each used by `inner` consecutive elements; the kernels are called with mid * spread
    * rep values per index (each run of elements is a call of its own, so runs shorter than _RUN elements are made
    longer: a short block spread over its elements and repeated). Raises _Refusal when a parameter does not fit."""
    key = (x.shape,) + tuple(p.shape for p in params)
    found = _LAYOUTS.get(key)
    if found is None:
        try:
            found = _block(x.shape, params)
        except _Refusal as refusal:
            found = refusal
        if len(_LAYOUTS) > 4096:
            _LAYOUTS.clear()
        _LAYOUTS[key] = found
    if isinstance(found, _Refusal):
        raise found
    return found


def _block(shape, params):
    rank, lo, hi = len(shape), len(shape), -1
    for name, kind, p in zip(_PARAMETERS, _KINDS, params):
        if p.dim() > rank:
            raise _Refusal(f"parameter {name} has more axes ({p.dim()}) than the input ({rank})")
        aligned = (1,) * (rank - p.dim()) + tuple(p.shape)
        for axis, (size, full) in enumerate(zip(aligned, shape)):
            if size == 1:
                continue
            if size != full:
                raise _Refusal(f"parameter {name} of shape {list(p.shape)} does not broadcast to the input's {list(shape)}")
            if kind == "scalar":
                raise _Refusal(f"parameter {name} was exported shared (one value) but has shape {list(p.shape)}")
            lo, hi = min(lo, axis), max(hi, axis)
    if hi < 0:
        mid, inner = 1, max(1, math.prod(shape))
    else:
        mid, inner = math.prod(shape[lo:hi + 1]), math.prod(shape[hi + 1:])
    if math.prod(shape) < 64 * _RUN:  # (a small tensor: preparing longer runs costs more than the calls)
        return mid, inner, lo, hi, 1, 1
    spread = inner if 1 < inner < _RUN else 1
    rep = -(-_RUN // (mid * spread)) if inner < _RUN and mid * spread < _RUN else 1
    return mid, inner, lo, hi, spread, rep


def _operand(p, kind, x, layout):
    """A parameter (or a tensor shaped like one) as the kernels read it: its values along x's axes lo..hi."""
    mid, _, lo, hi, spread, rep = layout
    if kind == "scalar":
        return p if p.dtype == x.dtype and p.numel() == 1 and p.is_contiguous() else p.reshape(1).to(x.dtype).contiguous()
    if p.numel() == mid and p.dtype == x.dtype and p.is_contiguous():
        values = p.view(-1)  # (all of them, in order)
    elif hi < 0:
        values = p.reshape(1).to(x.dtype)
    else:
        aligned = (1,) * (x.dim() - p.dim()) + tuple(p.shape)
        values = p.to(x.dtype).reshape(aligned[lo:hi + 1]).expand(x.shape[lo:hi + 1]).reshape(-1)
    if spread > 1:
        values = values.repeat_interleave(spread)
    if rep > 1:
        values = values.repeat(rep)
    return values.contiguous()


def _gradient(g, p, kind, x, layout):
    """The kernels' sums for a parameter, shaped as the parameter (summed further where it broadcast within lo..hi)."""
    mid, _, lo, hi, spread, rep = layout
    if kind == "scalar":
        return g.view(p.shape)
    if rep > 1:
        g = g.view(rep, -1).sum(0)
    if spread > 1:
        g = g.view(mid, spread).sum(1)
    if hi < 0 or p.numel() == mid:
        return g.view(p.shape)
    aligned = (1,) * (x.dim() - p.dim()) + tuple(p.shape)
    return g.view(x.shape[lo:hi + 1]).sum_to_size(aligned[lo:hi + 1]).reshape(p.shape)


def _unserved(x, params):
    """Why the kernels cannot take these tensors at all; "" when they can."""
    if x.device.type != "cpu":
        return f"a {x.device.type} tensor"
    if x.dtype not in (torch.float32, torch.float64):
        return f"dtype {str(x.dtype).replace('torch.', '')}"
    if not x.is_contiguous():
        return "a non-contiguous input (x.contiguous() would let them)"
    for name, p in zip(_PARAMETERS, params):
        if p.device != x.device or p.dtype != x.dtype:
            return f"parameter {name} is {p.dtype} on {p.device} and the input {x.dtype} on {x.device}"
    return ""


def _run(name, x, params, extra):
    """Runs kernel pass `name` on x, the parameters and `extra` (tensors like x, or like a parameter, in the pass's
    order); returns its outputs: tensors like x, and sums shaped as their parameters."""
    group, inputs, outputs = _PASSES[name]
    why = _unserved(x, params)
    if why:  # (apply() sends these to the pure-torch Function; a direct caller of the native one gets this)
        raise ValueError(f"{_NAME}NativeFunction cannot take {why}; call apply() or {_NAME}Function")
    function = _kernels(group, x.dtype)[name]
    layout = _layout(x, params)
    mid, inner, _, _, spread, rep = layout
    if x.numel() == 0:
        return [torch.empty_like(x) if token == "e" else torch.zeros_like(params[int(token[1:])]) for token in outputs]
    more = iter(extra)
    operands = []
    for token in inputs:
        if token == "x":
            operands.append(x)
        elif token == "e":
            t = next(more)
            operands.append(t if t.dtype == x.dtype and t.is_contiguous() and t.device == x.device
                            else t.to(device=x.device, dtype=x.dtype).contiguous())
        else:
            k = int(token[1:])
            operands.append(_operand(params[k] if token[0] == "p" else next(more), _KINDS[k], x, layout))
    kernel_mid = mid * spread * rep
    results = [torch.empty_like(x, memory_format=torch.contiguous_format) if token == "e"
               else torch.empty(kernel_mid if _KINDS[int(token[1:])] == "indexed" else 1, dtype=x.dtype) for token in outputs]
    pointers = (ctypes.c_void_p * (len(operands) + len(results)))(*[t.data_ptr() for t in operands + results])
    dims = (ctypes.c_longlong * 3)(x.numel(), kernel_mid, 1 if spread > 1 else inner)
    status = function(pointers, dims, torch.get_num_threads())
    if status == 1:
        raise MemoryError(f"{_NAME}: the native kernel {name} could not allocate its partial sums")
    if status != 0:
        raise ValueError(f"{_NAME}: the native kernel {name} refused the sizes {list(dims)}")
    return [r if token == "e" else _gradient(r, params[int(token[1:])], _KINDS[int(token[1:])], x, layout)
            for token, r in zip(outputs, results)]


def _refusal(x, params):
    """Why the kernels cannot serve a call on (x, params); "" when they can."""
    why = _unserved(x, params)
    if why:
        return why
    try:
        _layout(x, params)
        _kernels("train", x.dtype)
    except _Refusal as refusal:
        return str(refusal)
    return ""


def _serves(group, x):
    """Whether the group's kernels are there for x's dtype (warns once when not)."""
    try:
        _kernels(group, x.dtype)
        return True
    except _Refusal as refusal:
        _warn_once(f"{refusal}; the pure-torch formulas run instead")
        return False


def _like(value, x):
    """A value of the gradient code as a tensor of x's shape and dtype (a constant or a broadcast value, filled)."""
    if not isinstance(value, torch.Tensor):
        return torch.full_like(x, value)
    value = value.to(x.dtype)
    return value if value.shape == x.shape else value.expand(x.shape)


def _sum_like(value, p, x):
    """A value of the gradient code as the gradient of parameter p: summed over the axes p was broadcast along."""
    value = _like(value, x) if not isinstance(value, torch.Tensor) else value.to(p.dtype)
    return value if value.shape == p.shape else value.sum_to_size(p.shape)
