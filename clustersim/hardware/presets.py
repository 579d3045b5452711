"""Named device and link presets, with the datasheet figures they come from.

Unit conventions (everything is plain SI so that the simulator never converts):

* ``peak_flops`` is in FLOP/s. For GPUs and TPUs it is the DENSE FP16/BF16 matrix (tensor-core /
  MXU) throughput, never the "with sparsity" figure that vendors print first; for CPUs and the
  Raspberry Pis it is the FP32 SIMD (AVX / NEON) peak, derived as
  cores x clock x FP32 FLOP/cycle with the arithmetic written next to each preset.
* ``mem_bandwidth`` and every link bandwidth are in bytes/s with decimal prefixes:
  1 GB/s = 1e9 B/s, 1 TB/s = 1e12 B/s, as in the datasheets (a bandwidth is transfers/s x bus
  width, which has no binary convention). Network rates quoted in bits/s are divided by 8.
* ``memory`` is in bytes with BINARY prefixes: a vendor's "80GB" of HBM or "4GB" of LPDDR is
  taken as 80 GiB = 80 * 2**30 bytes, because DRAM/HBM dies come in power-of-two densities.
  The driver confirms this for the A100 80GB (NVML reports 81,920 MiB = exactly 80 GiB); for the
  H100 and H200 it reports ~0.4% less than the nominal GiB figure (firmware reservations), and
  for GDDR parts with ECC enabled (L4) about 6% less -- the presets use the nominal capacity.
* Link bandwidths are PER DIRECTION (full duplex). Vendors often quote NVLink as the sum of both
  directions ("900 GB/s"); those totals are halved here. Wi-Fi and cellular links are half
  duplex / scheduled shared media: their figure is a typical achieved rate for one transfer.
* Link latencies are one-way, in seconds. Most are typical assumptions rather than datasheet
  figures; each entry says which. They model the wire/fabric, not software overheads such as a
  CUDA kernel launch (that is the device's ``launch_overhead``, below) or an NCCL protocol
  handshake.
* ``launch_overhead`` is seconds per kernel launch (:meth:`DeviceSpec.kernel_time`). The CUDA
  GPUs (H100, H200, A100, V100, L4, RTX 4090, and the Jetsons, whose GPU kernels go through the
  same CUDA driver and runtime) take :data:`CUDA_LAUNCH_OVERHEAD`, 5 us; the TPU, the CPU
  server and the Raspberry Pis keep 0 (no cited figure; see each entry).

Every preset carries a short citation in ``source`` (``DeviceSpec.source`` or the third element of
a ``LINK_PRESETS`` tuple); the comments give the document, table/section and the arithmetic.
Figures marked "from memory of <document>" could not be re-checked against the document itself.

Lookup is forgiving: :func:`get_device` and :func:`get_link` ignore case, ``-``, ``_`` and spaces
and accept the aliases in :data:`ALIASES` / :data:`LINK_ALIASES` (``"rpi4"``, ``"ib-ndr"``...).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from clustersim.errors import InputError
from clustersim.hardware.spec import DeviceSpec

__all__ = [
    "ALIASES",
    "CUDA_LAUNCH_OVERHEAD",
    "DEVICE_PRESETS",
    "LINK_ALIASES",
    "LINK_PRESETS",
    "SHARED_MEDIUM_LINKS",
    "get_device",
    "get_link",
    "is_shared_medium",
]

# Unit helpers (private): decimal for rates, binary for capacities.
_GB = 1e9
_TB = 1e12
_GIB = 2**30
_MIB = 2**20
_TFLOPS = 1e12
_GFLOPS = 1e9
_US = 1e-6
_MS = 1e-3

CUDA_LAUNCH_OVERHEAD = 5e-6
"""Seconds of host-side cost per CUDA kernel launch, the ``launch_overhead`` of the CUDA presets.

NVIDIA's CUDA Graphs documentation (https://docs.nvidia.com/dl-cuda-graph/cuda-graph-basics/
cuda-graph.html) says each kernel launch costs on the order of microseconds of CPU time in the
driver and runtime, which is why a graph replaces many launches by one; a measurement through the
driver and runtime on an RTX 5070 Ti with CUDA 13 found 4-6 us per launch (susun-blog.com,
"From Launch Overhead to CUDA Graph", https://susun-blog.com/blog/pegainfer-3-cuda-graph). We take
5 us, the middle of that range (both sources as quoted in clustersim issue 15, not re-checked
here). It is what a synchronous step pays per kernel when the GPU waits for the CPU to issue the
next launch (small kernels, a training step that ends in a synchronisation, one decoding token);
with a deep launch queue ahead of large kernels the host would hide it, which this model does
not. It is a property of the host stack, not of the GPU, so every CUDA preset takes the same
figure; a Jetson's Cortex-A78AE host is slower than a desktop CPU, so for the Jetsons it is a
lower bound. ``launch_overhead: 0`` on a device turns it off."""
_CUDA_LAUNCH_SOURCE = "; launch 5 us per kernel (NVIDIA CUDA Graphs docs; 4-6 us measured)"


def _gbit(gbit_per_s: float) -> float:
    """A rate in Gbit/s as bytes/s."""
    return gbit_per_s * 1e9 / 8


def _pcie_x16(gt_per_s: float) -> float:
    """Raw per-direction PCIe 3.0+ x16 bandwidth: GT/s x 16 lanes x 128b/130b coding / 8 bits."""
    return gt_per_s * 1e9 * 16 * (128 / 130) / 8


# --------------------------------------------------------------------------------------------
# Devices
# --------------------------------------------------------------------------------------------

DEVICE_PRESETS: dict[str, DeviceSpec] = {
    # NVIDIA H100 SXM5 80GB.
    # peak: NVIDIA H100 Tensor Core GPU datasheet, "BF16 Tensor Core 1,979 teraFLOPS*" (*with
    #   sparsity; dense is half) -> 989.4 TFLOPS; the Hopper architecture whitepaper (H100 SXM5
    #   column) gives exactly 989.4 dense / 1978.9 sparse BF16 and FP16 with FP32 accumulate.
    # bw: datasheet "GPU memory bandwidth 3.35TB/s" (5120-bit HBM3).
    # memory: datasheet "80GB" HBM3 = 5 active stacks x 16 GiB = 80 GiB (NVML reports 81,559 MiB).
    # tdp: datasheet "Max thermal design power (TDP) up to 700W (configurable)".
    "H100": DeviceSpec(
        name="H100",
        peak_flops=989.4 * _TFLOPS,
        mem_bandwidth=3.35 * _TB,
        memory=80 * _GIB,
        kind="gpu",
        tdp_w=700.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA H100 datasheet (SXM: 1,979 TFLOPS BF16 sparse / 2; 3.35 TB/s; 80GB; 700 W)"
        " + Hopper whitepaper (989.4 TFLOPS dense)" + _CUDA_LAUNCH_SOURCE,
    ),
    # NVIDIA H200 SXM 141GB: the same GH100 compute as the H100 SXM5 with HBM3e.
    # peak: H200 datasheet "BFLOAT16 Tensor Core 1,979 TFLOPS*" (*with sparsity) -> 989.4 dense.
    # bw: datasheet "GPU Memory Bandwidth 4.8TB/s".
    # memory: datasheet "141GB" HBM3e (6 stacks x 24 GiB = 144 GiB physical, 141 enabled) taken as
    #   141 GiB; NVML reports 143,771 MiB (140.4 GiB).
    # tdp: datasheet "Max TDP up to 700W (configurable)".
    "H200": DeviceSpec(
        name="H200",
        peak_flops=989.4 * _TFLOPS,
        mem_bandwidth=4.8 * _TB,
        memory=141 * _GIB,
        kind="gpu",
        tdp_w=700.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA H200 datasheet (SXM: 1,979 TFLOPS BF16 sparse / 2; 4.8 TB/s; 141GB; 700 W)"
        + _CUDA_LAUNCH_SOURCE,
    ),
    # NVIDIA A100 SXM4 80GB.
    # peak: A100 datasheet "BFLOAT16 Tensor Core 312 TFLOPS | 624 TFLOPS*" (*sparse) -> 312 dense;
    #   check: 432 tensor cores x 512 FLOP/clk x 1.41 GHz = 311.9 TFLOPS.
    # bw: datasheet "GPU Memory Bandwidth 2,039GB/s" (A100 80GB SXM column; 40GB: 1,555 GB/s).
    # memory: "80GB HBM2e" = 80 GiB exactly (NVML reports 81,920 MiB).
    # tdp: datasheet "Max TDP Power 400W" (SXM).
    "A100": DeviceSpec(
        name="A100",
        peak_flops=312 * _TFLOPS,
        mem_bandwidth=2039 * _GB,
        memory=80 * _GIB,
        kind="gpu",
        tdp_w=400.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA A100 datasheet (80GB SXM: 312 TFLOPS BF16 dense; 2,039 GB/s; 80GB; 400 W)"
        + _CUDA_LAUNCH_SOURCE,
    ),
    # NVIDIA Tesla V100 SXM2 32GB.
    # peak: V100 datasheet "Tensor Performance 125 TFLOPS" (SXM2; PCIe is 112) = FP16 multiply
    #   with FP32 accumulate; check: 640 tensor cores x 64 FMA x 2 FLOP x 1.53 GHz = 125.3 TFLOPS.
    #   (V100 has no BF16; there is no sparsity on Volta, so this figure is dense.)
    # bw: datasheet "Memory Bandwidth 900 GB/sec" (4096-bit HBM2).
    # memory: "32 GB HBM2" = 4 stacks x 8 GiB = 32 GiB.
    # tdp: datasheet "Max Power Consumption 300 WATTS" (SXM2).
    "V100": DeviceSpec(
        name="V100",
        peak_flops=125 * _TFLOPS,
        mem_bandwidth=900 * _GB,
        memory=32 * _GIB,
        kind="gpu",
        tdp_w=300.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA Tesla V100 datasheet (SXM2: 125 TFLOPS tensor; 900 GB/s; 32GB; 300 W)"
        + _CUDA_LAUNCH_SOURCE,
    ),
    # NVIDIA L4 (Ada, AD104, PCIe, 72 W).
    # peak: L4 datasheet "FP16 Tensor Core 242 teraFLOPS*" and "BFLOAT16 ... 242*" (*with
    #   sparsity) -> 121 TFLOPS dense.
    # bw: datasheet "GPU memory bandwidth 300GB/s" (192-bit GDDR6).
    # memory: "24GB" GDDR6 = 24 GiB; with ECC on (the default) NVML reports 23,034 MiB.
    # tdp: datasheet "Max thermal design power (TDP) 72W".
    "L4": DeviceSpec(
        name="L4",
        peak_flops=121 * _TFLOPS,
        mem_bandwidth=300 * _GB,
        memory=24 * _GIB,
        kind="gpu",
        tdp_w=72.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA L4 datasheet (242 TFLOPS FP16 sparse / 2; 300 GB/s; 24GB; 72 W)"
        + _CUDA_LAUNCH_SOURCE,
    ),
    # NVIDIA GeForce RTX 4090 (Ada, AD102).
    # peak: Ada Lovelace architecture whitepaper, appendix table (RTX 4090 column): "Peak BF16
    #   Tensor TFLOPS with FP32 Accumulate 165.2/330.4" (dense/sparse); FP16 with FP16 accumulate
    #   is 330.3 dense, but training uses FP32 accumulation, which GeForce parts run at half rate.
    # bw: whitepaper "Memory Bandwidth 1008 GB/sec" = 21 Gbps x 384 bit / 8.
    # memory: "24 GB GDDR6X" = 24 GiB.  tdp: whitepaper "Total Graphics Power 450 W".
    "RTX4090": DeviceSpec(
        name="RTX4090",
        peak_flops=165.2 * _TFLOPS,
        mem_bandwidth=1008 * _GB,
        memory=24 * _GIB,
        kind="gpu",
        tdp_w=450.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA Ada Lovelace whitepaper, RTX 4090 (165.2 TFLOPS BF16 dense, FP32 acc.; "
        "1008 GB/s; 24GB; 450 W TGP)" + _CUDA_LAUNCH_SOURCE,
    ),
    # Google Cloud TPU v4, PER CHIP (2 TensorCores; a v4 "core" in older docs is half of this).
    # peak: Cloud TPU docs, "TPU v4" page, key-specifications table: "Peak compute per chip 275
    #   teraflops (bf16 or int8)" (no sparsity figure exists for TPUs).
    # bw/memory: same table "HBM2 capacity and bandwidth 32 GiB, 1200 GBps" (GBps read as 1e9 B/s).
    # tdp: no TDP is published; the table gives "Measured min/mean/max power 90/170/192 W", we
    #   store the measured max, 192 W.
    # kind: DeviceSpec knows gpu/cpu/edge only; a datacenter accelerator is filed as "gpu".
    # launch_overhead: 0. A TPU runs an XLA-compiled program per step, not one host launch per
    #   kernel, and we have no cited per-op figure for it.
    "TPUv4": DeviceSpec(
        name="TPUv4",
        peak_flops=275 * _TFLOPS,
        mem_bandwidth=1200 * _GB,
        memory=32 * _GIB,
        kind="gpu",
        tdp_w=192.0,
        source="Google Cloud TPU docs, 'TPU v4' key specifications (per chip: 275 TFLOPS bf16; "
        "32 GiB HBM2 at 1200 GBps; measured max 192 W)",
    ),
    # Raspberry Pi 4 Model B, 4 GB model (BCM2711, 4x Cortex-A72).
    # peak: FP32 NEON peak = 4 cores x 1.5 GHz x 8 FP32 FLOP/cycle = 48 GFLOPS. 8 FLOP/cycle =
    #   one 128-bit (4 x FP32) NEON FMLA per cycle x 2 FLOP per FMA: the A72's two 64-bit-wide FP
    #   pipes execute one Q-form FMA per cycle together (Cortex-A72 Software Optimization Guide,
    #   from memory; confirmed by vfpbench measuring ~7.9 FP32 FLOP/cycle/core on an A72).
    #   Clock: 1.5 GHz is the launch/product-brief figure for BCM2711B0 boards; C0-stepping boards
    #   made since 2021 default to 1.8 GHz (57.6 GFLOPS). Measured HPL/Linpack on a Pi 4 is far
    #   lower (~10-14 GFLOPS FP64, from memory of published community runs); use `efficiency`.
    # bw: product brief "LPDDR4-3200 SDRAM" on BCM2711's 32-bit bus: 3200e6 T/s x 4 B = 12.8 GB/s
    #   theoretical (the launch spec page said LPDDR4-2400, i.e. 9.6 GB/s; STREAM-type measurements
    #   reach only a fraction of either).
    # memory: 4 GB model = 4 GiB (LPDDR4 shared with the VideoCore VI GPU).
    # tdp: the product brief gives no power figure, only the 5 V / 3 A (15 W) supply requirement,
    #   which includes USB peripherals; left at 0 (unknown).
    "RaspberryPi4": DeviceSpec(
        name="RaspberryPi4",
        peak_flops=4 * 1.5 * 8 * _GFLOPS,
        mem_bandwidth=3200e6 * 4,
        memory=4 * _GIB,
        kind="edge",
        tdp_w=0.0,
        source="Raspberry Pi 4 Model B product brief (4x Cortex-A72 @ 1.5 GHz, LPDDR4-3200 x32); "
        "peak = 4 x 1.5 GHz x 8 FP32 FLOP/cycle",
    ),
    # Raspberry Pi 5, 8 GB model (BCM2712, 4x Cortex-A76).
    # peak: 4 cores x 2.4 GHz x 16 FP32 FLOP/cycle = 153.6 GFLOPS; the A76 has two 128-bit NEON
    #   FMA pipes (Cortex-A76 Software Optimization Guide, from memory): 2 x 4 lanes x 2 FLOP.
    # bw: product brief "LPDDR4X-4267 SDRAM", 32-bit bus: 4267e6 T/s x 4 B = 17.07 GB/s.
    # memory: 8 GB model = 8 GiB (2/4/16 GB variants also exist).
    # tdp: no figure published (5 V / 5 A supply recommended); left at 0.
    "RaspberryPi5": DeviceSpec(
        name="RaspberryPi5",
        peak_flops=4 * 2.4 * 16 * _GFLOPS,
        mem_bandwidth=4267e6 * 4,
        memory=8 * _GIB,
        kind="edge",
        tdp_w=0.0,
        source="Raspberry Pi 5 product brief (4x Cortex-A76 @ 2.4 GHz, LPDDR4X-4267 x32); "
        "peak = 4 x 2.4 GHz x 16 FP32 FLOP/cycle",
    ),
    # NVIDIA Jetson Orin Nano 8GB module, original 15 W mode (JetPack 5 / pre-"Super" clocks).
    # peak: GPU FP16 dense tensor throughput, DERIVED (the datasheet leads with "40 TOPS", which
    #   is INT8 *sparse* and must not be used as FLOP/s): Jetson Orin Nano Series datasheet gives
    #   "1024 CUDA cores | 32 Tensor cores", "Maximum Operating Frequency: 625 MHz"; Ampere
    #   (GA10B) tensor cores do 256 FP16 FMA = 512 FLOP per clock dense, so
    #   32 x 512 x 625e6 = 10.24 TFLOPS. Cross-check: 40 TOPS INT8 sparse / 2 (dense) / 2 (INT8
    #   runs at twice the FP16 rate) = 10 TFLOPS.
    # bw: datasheet "8GB 128-bit LPDDR5", 68 GB/s (128 bit x 4266 MT/s / 8 = 68.3 GB/s).
    # memory: 8 GiB, shared between the 6-core Cortex-A78AE CPU and the GPU.
    # tdp: module power modes 7 W / 15 W; 15 W used.
    "JetsonOrinNano": DeviceSpec(
        name="JetsonOrinNano",
        peak_flops=32 * 512 * 625e6,
        mem_bandwidth=68 * _GB,
        memory=8 * _GIB,
        kind="edge",
        tdp_w=15.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA Jetson Orin Nano Series datasheet (8GB: 32 tensor cores @ 625 MHz -> "
        "10.24 TFLOPS FP16 dense; 68 GB/s LPDDR5; 15 W)" + _CUDA_LAUNCH_SOURCE,
    ),
    # NVIDIA Jetson Orin Nano 8GB in "Super" mode (JetPack 6.1+, MAXN SUPER, 25 W): same silicon,
    # higher clocks. GPU 1020 MHz -> 32 x 512 x 1.02e9 = 16.7 TFLOPS FP16 dense (cross-check:
    # "67 TOPS" INT8 sparse / 4 = 16.75). Memory 102 GB/s (LPDDR5 at 6400 MT/s x 128 bit / 8 =
    # 102.4 GB/s). Jetson Orin Nano Super Developer Kit datasheet (Dec 2024), from memory for
    # the clocks; the 67 TOPS / 102 GB/s / 25 W figures are NVIDIA's headline numbers.
    "JetsonOrinNanoSuper": DeviceSpec(
        name="JetsonOrinNanoSuper",
        peak_flops=32 * 512 * 1020e6,
        mem_bandwidth=102 * _GB,
        memory=8 * _GIB,
        kind="edge",
        tdp_w=25.0,
        launch_overhead=CUDA_LAUNCH_OVERHEAD,
        source="NVIDIA Jetson Orin Nano Super Developer Kit datasheet (1020 MHz GPU -> 16.7 TFLOPS "
        "FP16 dense; 102 GB/s; 25 W)" + _CUDA_LAUNCH_SOURCE,
    ),
    # A 2-socket AMD EPYC 9654 ("Genoa", Zen 4) server.
    # peak: FP32 AVX-512/AVX2 peak at base clock = 2 sockets x 96 cores x 2.4 GHz x 32 FP32
    #   FLOP/cycle = 14.75 TFLOPS. Zen 4 has two 256-bit FMA pipes (512-bit ops are split over
    #   them), so 2 x 8 lanes x 2 FLOP = 32 FLOP/cycle (AMD Zen 4 software optimization guide,
    #   from memory; the two extra FADD pipes are not counted since GEMM is all FMA).
    #   All-core boost (~3.55 GHz) would give ~21.8 TFLOPS; base is the sustainable figure.
    # bw: AMD EPYC 9654 product page: 12 channels DDR5-4800 per socket:
    #   2 x 12 x 4800e6 T/s x 8 B = 921.6 GB/s theoretical.
    # memory: ASSUMED configuration, one 64 GiB RDIMM per channel: 24 x 64 GiB = 1536 GiB.
    # tdp: product page "Default TDP 360W" per socket -> 720 W (CPUs only, not DRAM/board).
    # launch_overhead: 0 (a CPU kernel is a function call; no cited figure). The same holds for
    #   the Raspberry Pis above, which run their layers on the Cortex-A cores.
    "CPU-server": DeviceSpec(
        name="CPU-server",
        peak_flops=2 * 96 * 2.4e9 * 32,
        mem_bandwidth=2 * 12 * 4800e6 * 8,
        memory=24 * 64 * _GIB,
        kind="cpu",
        tdp_w=2 * 360.0,
        source="AMD EPYC 9654 product page, 2 sockets (96 Zen 4 cores @ 2.4 GHz base x 32 FP32 "
        "FLOP/cycle; 12x DDR5-4800 per socket; 360 W each); 24 x 64 GiB DIMMs assumed",
    ),
}

# Alternative spellings -> canonical preset name. Keys are matched after the same normalisation
# as the canonical names (case, '-', '_' and spaces ignored).
ALIASES: dict[str, str] = {
    "H100-SXM": "H100",
    "H100-SXM5": "H100",
    "H100-80GB": "H100",
    "H200-SXM": "H200",
    "H200-141GB": "H200",
    "A100-SXM": "A100",
    "A100-SXM4": "A100",
    "A100-80GB": "A100",
    "A100-SXM4-80GB": "A100",
    "V100-SXM2": "V100",
    "V100-32GB": "V100",
    "V100-SXM2-32GB": "V100",
    "Tesla-V100": "V100",
    "NVIDIA-L4": "L4",
    "4090": "RTX4090",
    "GeForce-RTX-4090": "RTX4090",
    "TPU-v4": "TPUv4",
    "TPUv4-chip": "TPUv4",
    "rpi4": "RaspberryPi4",
    "pi4": "RaspberryPi4",
    "Raspberry-Pi-4B": "RaspberryPi4",
    "rpi5": "RaspberryPi5",
    "pi5": "RaspberryPi5",
    "Jetson": "JetsonOrinNano",
    "Orin-Nano": "JetsonOrinNano",
    "Jetson-Orin-Nano-8GB": "JetsonOrinNano",
    "Orin-Nano-Super": "JetsonOrinNanoSuper",
    "CPU": "CPU-server",
    "EPYC-9654": "CPU-server",
    "2x-EPYC-9654": "CPU-server",
}

# --------------------------------------------------------------------------------------------
# Links: name -> (bandwidth in bytes/s PER DIRECTION, one-way latency in s, source)
# --------------------------------------------------------------------------------------------

# Latency assumptions shared by several entries (typical figures, NOT datasheet values).
_NVLINK_LAT = 0.5 * _US  # GPU<->GPU through NVLink / one NVSwitch hop, hardware only (assumed)
_PCIE_LAT = 1.0 * _US  # one PCIe switch / root-complex traversal (assumed)
_IB_LAT = 1.0 * _US  # MPI/verbs small-message one-way on ConnectX-6/7 class HCAs (typical)
_ETH_FAST_LAT = 10 * _US  # 25-400 GbE through a ToR switch with a kernel TCP stack (assumed)
_WIFI_LAT = 2 * _MS  # uncongested home/office Wi-Fi, one way (assumed)

LINK_PRESETS: dict[str, tuple[float, float, str]] = {
    # NVLink 4 (H100 SXM): 18 links x 25 GB/s per direction = 450 GB/s per direction; the H100
    # datasheet's "NVLink: 900GB/s" is the bidirectional total.
    "NVLink4": (
        18 * 25 * _GB,
        _NVLINK_LAT,
        (
            "NVIDIA H100 datasheet: NVLink 900 GB/s bidirectional = 18 links x 25 GB/s "
            "per direction; latency 0.5 us assumed"
        ),
    ),
    # NVLink 3 (A100 SXM4): 12 links x 25 GB/s = 300 GB/s per direction ("600GB/s" total).
    "NVLink3": (
        12 * 25 * _GB,
        _NVLINK_LAT,
        (
            "NVIDIA A100 datasheet: NVLink 600 GB/s bidirectional = 12 links x 25 GB/s "
            "per direction; latency 0.5 us assumed"
        ),
    ),
    # NVLink 2 (V100 SXM2): 6 links x 25 GB/s = 150 GB/s per direction ("300GB/s" total).
    "NVLink2": (
        6 * 25 * _GB,
        _NVLINK_LAT,
        (
            "NVIDIA V100 datasheet: NVLink 300 GB/s bidirectional = 6 links x 25 GB/s "
            "per direction; latency 0.5 us assumed"
        ),
    ),
    # PCIe x16, raw per-direction rate after 128b/130b line coding (PCI-SIG base specs: Gen3
    # 8 GT/s, Gen4 16 GT/s, Gen5 32 GT/s per lane). TLP/DLLP protocol overhead makes achievable
    # DMA throughput ~10-20% lower; that belongs in an efficiency factor, not here.
    "PCIe3x16": (
        _pcie_x16(8),
        _PCIE_LAT,
        (
            "PCIe 3.0 base spec: 8 GT/s x 16 lanes x 128/130 / 8 = 15.75 GB/s per direction; "
            "latency 1 us assumed"
        ),
    ),
    "PCIe4x16": (
        _pcie_x16(16),
        _PCIE_LAT,
        (
            "PCIe 4.0 base spec: 16 GT/s x 16 lanes x 128/130 / 8 = 31.5 GB/s per direction; "
            "latency 1 us assumed"
        ),
    ),
    "PCIe5x16": (
        _pcie_x16(32),
        _PCIE_LAT,
        (
            "PCIe 5.0 base spec: 32 GT/s x 16 lanes x 128/130 / 8 = 63.0 GB/s per direction; "
            "latency 1 us assumed"
        ),
    ),
    # InfiniBand 4x ports; the advertised rate is the data rate per direction.
    "InfiniBand-NDR": (
        _gbit(400),
        _IB_LAT,
        (
            "InfiniBand NDR 4x port (e.g. NVIDIA ConnectX-7): 400 Gb/s = 50 GB/s per direction; "
            "~1 us one-way is a typical MPI small-message figure (assumption)"
        ),
    ),
    "InfiniBand-HDR": (
        _gbit(200),
        _IB_LAT,
        (
            "InfiniBand HDR 4x port (e.g. NVIDIA ConnectX-6): 200 Gb/s = 25 GB/s per direction; "
            "~1 us one-way typical (assumption)"
        ),
    ),
    # Ethernet: IEEE 802.3 MAC data rates, full duplex. Latencies assume a kernel TCP/IP stack
    # and one switch hop; RDMA (RoCE) would be a few microseconds. All latencies are assumptions.
    "400GbE": (
        _gbit(400),
        _ETH_FAST_LAT,
        "IEEE 802.3bs 400GBASE: 400 Gb/s = 50 GB/s per direction; latency 10 us assumed (TCP)",
    ),
    "100GbE": (
        _gbit(100),
        _ETH_FAST_LAT,
        "IEEE 802.3 100GBASE: 100 Gb/s = 12.5 GB/s per direction; latency 10 us assumed (TCP)",
    ),
    "25GbE": (
        _gbit(25),
        _ETH_FAST_LAT,
        "IEEE 802.3by 25GBASE: 25 Gb/s = 3.125 GB/s per direction; latency 10 us assumed (TCP)",
    ),
    "10GbE": (
        _gbit(10),
        20 * _US,
        "IEEE 802.3 10GBASE: 10 Gb/s = 1.25 GB/s per direction; latency 20 us assumed (TCP)",
    ),
    "1GbE": (
        _gbit(1),
        50 * _US,
        "IEEE 802.3 1000BASE-T: 1 Gb/s = 125 MB/s per direction; latency 50 us assumed (TCP)",
    ),
    # Wi-Fi: PHY rates are not achievable throughput. 802.11ac (Wi-Fi 5) 2x2 80 MHz has a PHY
    # rate of 866.7 Mb/s; ~300 Mb/s TCP near the access point is a TYPICAL ACHIEVED figure
    # (assumption). 802.11ax (Wi-Fi 6) 2x2 80 MHz PHY 1201 Mb/s; ~600 Mb/s typical (assumption).
    # Both are half duplex: the rate is shared by both directions and by all stations on the AP.
    "WiFi5": (
        300e6 / 8,
        _WIFI_LAT,
        (
            "802.11ac 2x2 80 MHz (PHY 866.7 Mb/s): ~300 Mb/s typical achieved TCP (assumption); "
            "~2 ms one-way assumed; half duplex, shared"
        ),
    ),
    "WiFi6": (
        600e6 / 8,
        _WIFI_LAT,
        (
            "802.11ax 2x2 80 MHz (PHY 1201 Mb/s): ~600 Mb/s typical achieved TCP (assumption); "
            "~2 ms one-way assumed; half duplex, shared"
        ),
    ),
    # Cellular UPLINK, typical measured user experience (the bottleneck for on-device training).
    # LTE: Opensignal "State of Mobile USA" (May 2019): average 4G upload 6.3 Mb/s, latency
    # (round trip) 44-66 ms -> ~25 ms one-way.
    "LTE-uplink": (
        6.3e6 / 8,
        25 * _MS,
        (
            "Opensignal State of Mobile USA, May 2019: avg 4G upload 6.3 Mb/s, 44-66 ms RTT "
            "(one-way ~25 ms); typical, not a spec"
        ),
    ),
    # 5G (sub-6 GHz, non-standalone, which is what most users get): Opensignal US 5G Experience
    # reports 2021: average 5G upload 8-16 Mb/s by carrier -> 15 Mb/s taken as typical. The
    # latency (~15 ms one-way, i.e. ~30 ms RTT) is an assumption; 5G's 1 ms target is for URLLC.
    "5G-uplink": (
        15e6 / 8,
        15 * _MS,
        (
            "Opensignal US 5G Experience reports 2021: avg 5G upload ~8-16 Mb/s (15 Mb/s typical); "
            "~15 ms one-way assumed"
        ),
    ),
}

SHARED_MEDIUM_LINKS: frozenset[str] = frozenset({"WiFi5", "WiFi6"})
"""Link presets whose capacity is one medium shared by every station of an access point, in both
directions: IEEE 802.11 stations of one basic service set contend for the same channel with
CSMA/CA and only one transmits at a time (IEEE Std 802.11-2020, §10.3, DCF), so the airtime,
not a per-station full-duplex wire, is what they share. The preset's bandwidth is both the
medium's capacity and one station's limit."""

LINK_ALIASES: dict[str, str] = {
    "NVLink-H100": "NVLink4",
    "NVLink-A100": "NVLink3",
    "NVLink-V100": "NVLink2",
    "PCIe-Gen3-x16": "PCIe3x16",
    "PCIe-Gen4-x16": "PCIe4x16",
    "PCIe-Gen5-x16": "PCIe5x16",
    "PCIe3": "PCIe3x16",
    "PCIe4": "PCIe4x16",
    "PCIe5": "PCIe5x16",
    "IB-NDR": "InfiniBand-NDR",
    "NDR": "InfiniBand-NDR",
    "NDR400": "InfiniBand-NDR",
    "IB-HDR": "InfiniBand-HDR",
    "HDR": "InfiniBand-HDR",
    "HDR200": "InfiniBand-HDR",
    "400G-Ethernet": "400GbE",
    "100G-Ethernet": "100GbE",
    "25G-Ethernet": "25GbE",
    "10G-Ethernet": "10GbE",
    "GigE": "1GbE",
    "Gigabit-Ethernet": "1GbE",
    "802.11ac": "WiFi5",
    "802.11ax": "WiFi6",
    "LTE": "LTE-uplink",
    "4G": "LTE-uplink",
    "4G-uplink": "LTE-uplink",
    "5G": "5G-uplink",
}


# --------------------------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------------------------


def _normalise(name: str) -> str:
    """Lower-case ``name`` and drop '-', '_' and whitespace: "Raspberry_Pi 4" -> "raspberrypi4"."""
    return "".join(ch for ch in name.casefold() if ch not in "-_" and not ch.isspace())


def _build_index(canonical: Mapping[str, object], aliases: Mapping[str, str]) -> dict[str, str]:
    """Map every normalised canonical name and alias to its canonical name.

    Raises ``ValueError`` at import time if two spellings collide or an alias names no preset, so
    that a broken table cannot ship silently.
    """
    index: dict[str, str] = {}
    for name in canonical:
        key = _normalise(name)
        if key in index:
            raise ValueError(f"presets {index[key]!r} and {name!r} collide after normalisation")
        index[key] = name
    for alias, target in aliases.items():
        if target not in canonical:
            raise ValueError(f"alias {alias!r} points to unknown preset {target!r}")
        key = _normalise(alias)
        if index.get(key, target) != target:
            raise ValueError(f"alias {alias!r} collides with {index[key]!r}")
        index[key] = target
    return index


_DEVICE_INDEX = _build_index(DEVICE_PRESETS, ALIASES)
_LINK_INDEX = _build_index(LINK_PRESETS, LINK_ALIASES)


def _resolve(what: str, name: object, index: Mapping[str, str], known: Mapping[str, object]) -> str:
    """Canonical preset name for ``name``, or an InputError listing the known names."""
    if not isinstance(name, str):
        raise InputError(f"{what} preset name must be a string, got {name!r}")
    key = _normalise(name)
    if key in index:
        return index[key]
    names = ", ".join(sorted(known, key=str.casefold))
    message = f"unknown {what} preset {name!r}; known presets: {names}"
    close = difflib.get_close_matches(key, list(index), n=1, cutoff=0.6) if key else []
    if close:
        message += f"; did you mean {index[close[0]]!r}?"
    raise InputError(message)


def get_device(name: str) -> DeviceSpec:
    """The :class:`DeviceSpec` preset called ``name``.

    Matching ignores case, '-', '_' and spaces, and accepts the spellings in :data:`ALIASES`
    (``get_device("rpi4")`` is ``DEVICE_PRESETS["RaspberryPi4"]``). An unknown name raises
    :class:`~clustersim.errors.InputError` listing the canonical names and the closest match.
    """
    return DEVICE_PRESETS[_resolve("device", name, _DEVICE_INDEX, DEVICE_PRESETS)]


def get_link(name: str) -> tuple[float, float]:
    """``(bandwidth bytes/s per direction, one-way latency s)`` of the link preset ``name``.

    Matching is as in :func:`get_device`, with the aliases in :data:`LINK_ALIASES`. The source
    citation is the third element of ``LINK_PRESETS[name]``.
    """
    bandwidth, latency, _source = LINK_PRESETS[_resolve("link", name, _LINK_INDEX, LINK_PRESETS)]
    return bandwidth, latency


def is_shared_medium(name: str) -> bool:
    """Whether the link preset ``name`` is a shared medium (see :data:`SHARED_MEDIUM_LINKS`)."""
    return _resolve("link", name, _LINK_INDEX, LINK_PRESETS) in SHARED_MEDIUM_LINKS
