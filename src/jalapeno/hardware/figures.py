"""The plausible range and unit of every chip and system figure (see jalapeno.ranges).

Kept apart from spec.py so the spec classes only name a type per field. Bounds run from a small
edge accelerator to a wafer-scale engine; the messages say which unit a field is in and what a
value outside the range probably is (a clock in MHz, a bandwidth in TB/s, a power in kW).
"""

from __future__ import annotations

from jalapeno.ranges import Count, Figure

ClockGHz = Figure(0.05, 10.0, "GHz", low="clock_ghz is in GHz", high="clock_ghz is in GHz: a clock written in MHz "
                  "must be divided by 1000 (1980 MHz is 1.98)")
MatrixTflops = Figure(1e-3, 2e5, "TFLOPS", low="peak_tflops is in TFLOPS (10^12 FLOP/s, dense)",
                      high="peak_tflops is in TFLOPS (10^12 FLOP/s, dense): a figure in GFLOPS must be divided by 1000")
VectorTflops = Figure(1e-4, 2e5, "TFLOPS", high="peak_tflops is in TFLOPS: a figure in GFLOPS must be divided by 1000")
MatrixUnits = Count(1, 1_000_000, "units")
TileElems = Count(16, 65_536, "elements")
MIN_TILE_ELEMS = 32 * 32  # a matrix unit's largest output tile is at least 32 x 32 (the GEMM tilings start there)
CapacityGiB = Figure(1e-6, 1e6, "GiB", high="capacity_gib is in GiB: a figure in MiB or bytes must be scaled")
MemoryGBs = Figure(0.1, 1e8, "GB/s", low="bandwidth_gb_s is in GB/s: a figure in TB/s must be multiplied by 1000",
                   high="bandwidth_gb_s is in GB/s: a figure in MB/s or bytes/s must be scaled")
# Slowest plausible aggregate bandwidth of a memory level by kind (a figure below it is likely TB/s).
MIN_MEMORY_GB_S = {"hbm": 100.0, "dram": 1.0, "sram": 50.0, "cache": 50.0}
EnergyPjPerByte = Figure(1e-3, 1e4, "pJ/byte", high="energy_pj_per_byte is in picojoules per byte: a figure in "
                         "fJ must be divided by 1000")
EnergyPjPerByteOrZero = Figure(0.0, 1e4, "pJ/byte", lo_inclusive=True,
                               high="energy_pj_per_byte is in picojoules per byte")
LatencyNs = Figure(0.01, 1e7, "ns", high="latency_ns is in nanoseconds")
LinkCount = Count(1, 10_000, "links")
LinkGBs = Figure(1.0, 1e5, "GB/s", low="bandwidth_gb_s is in GB/s (one direction, all ports): a figure in TB/s "
                 "must be multiplied by 1000", high="bandwidth_gb_s is in GB/s (bytes): a figure in Gb/s must be "
                 "divided by 8, one in MB/s by 1000")
LatencyUs = Figure(1e-3, 1e5, "us", high="latency_us is in microseconds: a figure in ns must be divided by 1000")
DomainChips = Count(1, 100_000, "chips", high="no scale-up domain holds more than 100,000 chips")
PowerW = Figure(1.0, 1e5, "W", low="power is in watts: a figure in kW must be multiplied by 1000",
                high="power is in watts: a figure in mW must be divided by 1000")
PowerWOrZero = Figure(0.0, 1e5, "W", lo_inclusive=True,
                      high="power is in watts: a figure in mW must be divided by 1000")
HostPowerW = Figure(0.0, 1e6, "W", lo_inclusive=True, high="host_power_w is in watts per node")
ProcessNm = Figure(0.5, 1000.0, "nm")
AreaMm2 = Figure(1.0, 1e5, "mm2", high="die_area_mm2 is in mm^2 (a wafer-scale engine is 46,225 mm^2)")
Dies = Count(1, 1000, "dies")
TransistorsBillion = Figure(1e-3, 1e5, "billion transistors")
ChipsPerNode = Count(1, 100_000, "chips")
Year = Count(1950, 2100, "(year)")
LevelSize = Count(1, 1_000_000, "members")
Oversubscription = Figure(1.0, 1000.0, "(ratio)", lo_inclusive=True)
