"""Reading a cluster's inventory: version, cluster name, nodes, storages, guests (typed)."""

from dataclasses import dataclass

from apps.proxmox.client import PveClient


@dataclass(frozen=True)
class PveVersion:
    version: str
    release: str


@dataclass(frozen=True)
class NodeInfo:
    name: str
    online: bool
    cpu_usage: float  # 0..1
    cpu_count: int
    memory_used: int
    memory_total: int


@dataclass(frozen=True)
class StorageInfo:
    storage: str
    node: str
    type: str
    content: frozenset[str]
    shared: bool
    available: bool
    used: int
    total: int


@dataclass(frozen=True)
class GuestInfo:
    vmid: int
    node: str
    type: str  # qemu | lxc
    name: str
    status: str
    template: bool
    pool: str
    tags: str
    lock: str
    cores: int
    memory_bytes: int
    disk_bytes: int


def version_get(client: PveClient) -> PveVersion:
    data = client.get("version")
    return PveVersion(version=str(data.get("version", "")), release=str(data.get("release", "")))


def cluster_name_get(client: PveClient) -> str:
    """The PVE cluster's name, or the single node's name when it is not clustered."""
    entries = client.get("cluster/status")
    for entry in entries:
        if entry.get("type") == "cluster":
            return str(entry["name"])
    nodes = [entry["name"] for entry in entries if entry.get("type") == "node"]
    return nodes[0] if nodes else ""


def nodes_list(client: PveClient) -> list[NodeInfo]:
    return [
        NodeInfo(
            name=item["node"],
            online=item.get("status") == "online",
            cpu_usage=float(item.get("cpu") or 0),
            cpu_count=int(item.get("maxcpu") or 0),
            memory_used=int(item.get("mem") or 0),
            memory_total=int(item.get("maxmem") or 0),
        )
        for item in client.get("cluster/resources", type="node")
    ]


def storages_list(client: PveClient) -> list[StorageInfo]:
    return [
        StorageInfo(
            storage=item["storage"],
            node=item["node"],
            type=str(item.get("plugintype", "")),
            content=frozenset(filter(None, str(item.get("content", "")).split(","))),
            shared=bool(int(item.get("shared") or 0)),
            available=item.get("status") == "available",
            used=int(item.get("disk") or 0),
            total=int(item.get("maxdisk") or 0),
        )
        for item in client.get("cluster/resources", type="storage")
    ]


def guests_list(client: PveClient) -> list[GuestInfo]:
    return [
        GuestInfo(
            vmid=int(item["vmid"]),  # older PVE sends container vmids as strings
            node=item["node"],
            type=item["type"],
            name=str(item.get("name", "")),
            status=str(item.get("status", "")),
            template=bool(int(item.get("template") or 0)),
            pool=str(item.get("pool", "")),
            tags=str(item.get("tags", "")),
            lock=str(item.get("lock", "")),
            cores=int(item.get("maxcpu") or 0),
            memory_bytes=int(item.get("maxmem") or 0),
            disk_bytes=int(item.get("maxdisk") or 0),
        )
        for item in client.get("cluster/resources", type="vm")
    ]


@dataclass(frozen=True)
class ContentItem:
    volid: str
    content: str
    size: int


def storage_content(
    client: PveClient, *, node: str, storage: str, content: str
) -> list[ContentItem]:
    return [
        ContentItem(volid=item["volid"], content=item["content"], size=int(item.get("size") or 0))
        for item in client.get(f"nodes/{node}/storage/{storage}/content", content=content)
    ]
