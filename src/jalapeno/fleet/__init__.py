"""Fleet plans: how many chips, racks and megawatts a traffic plan needs, and what it costs.

From traffic (a peak rate, or a daily volume shaped by a daily curve), a model, SLOs and candidate
systems: the engine's planner finds each system's best SLO-meeting operating point, the serving
simulator checks the SLOs at the peak, and economics prices the result at the daily utilization.
Sites (one regional, or N edge sites) each add their network round trip to TTFT and get their share
of the traffic. Rank 7: above serving and economics.
"""
