"""Topologies are hardware facts (hardware/topology.py); re-exported here for the network layer."""

from jalapeno.hardware.topology import Level, Topology, topology_from_links

__all__ = ["Level", "Topology", "topology_from_links"]
