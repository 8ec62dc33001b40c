"""vLLM on CPU: the KV cache is sized from the memory free at start-up (no vLLM needed for these)."""

import pytest

from dataforge.backends.vllm import KV_MAX, KV_MIN, _start_failure, available_memory, cpu_kv_cache_bytes
from dataforge.core.errors import ForgeError

GiB = 2**30


def test_kv_cache_is_a_share_of_what_is_free_beside_the_weights_within_bounds():
    assert cpu_kv_cache_bytes(5 * GiB, 1 * GiB) == 1 * GiB           # a quarter of the 4 GiB spare
    assert cpu_kv_cache_bytes(100 * GiB, 1 * GiB) == KV_MAX          # never more than 4 GiB
    assert cpu_kv_cache_bytes(GiB, GiB // 2) == KV_MIN               # never less than 256 MiB
    # More free memory never gives a smaller cache, and the cache never exceeds what is spare.
    sizes = [cpu_kv_cache_bytes(a * GiB // 4, GiB // 2) for a in range(4, 80)]
    assert sizes == sorted(sizes)
    assert all(s <= a * GiB // 4 - GiB // 2 for s, a in zip(sizes, range(4, 80), strict=True))


def test_too_little_memory_is_one_line_naming_the_option():
    with pytest.raises(ForgeError) as e:
        cpu_kv_cache_bytes(GiB, int(0.9 * GiB))
    line = str(e.value)
    assert "\n" not in line and "kv_cache_gb" in line and "1.0 GiB of memory free" in line


def test_the_real_machine_fits_or_says_why():
    free = available_memory()
    assert free > 0
    try:
        assert KV_MIN <= cpu_kv_cache_bytes(free, 300 << 20) <= KV_MAX  # SmolLM2-135M's weights
    except ForgeError as e:
        assert "kv_cache_gb" in str(e)


def test_a_start_up_failure_names_the_setting_to_change():
    e = ValueError("Available memory on node 0 (1.2/23 GiB) on startup is less than desired CPU memory\n"
                   "utilization (0.85, 19.6 GiB). decrease `--gpu-memory-utilization`")
    cpu = _start_failure(e, {"kv_cache_memory_bytes": GiB}, cpu=True)
    assert "\n" not in cpu and "--option kv_cache_gb=N" in cpu and "now 1.00 GiB" in cpu
    gpu = _start_failure(e, {"gpu_memory_utilization": 0.85, "max_model_len": 4096}, cpu=False)
    assert "--option gpu_memory_utilization (now 0.85)" in gpu and "\n" not in gpu
