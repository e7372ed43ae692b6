"""The benchmark plant's catalogue: parts with their bills of materials, locations, suppliers,
customers and operators. It is the same at every scale; only the history grows with it.

Six levels of making: raw resins and metals (bought, lot-tracked) are compounded (level 1),
moulded (2), built into subassemblies (3) and modules (4), then units (lots) and drive units
(serials, each with a bought motor) (5), and finally pumps (serials, some in build lots) and
kits (lots) (6), which ship. Untracked hardware and backflush consumables go in along the
way. Quantities are whole thousandths, as `scanner.quantity` stores them.

Job sizes are balanced from the top down: each part's job makes a little less than one job of
each of its consumers needs, so stock never piles up between levels and a lot feeds the next
few jobs that come along (first in, first out), as on a real floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = 6
UNIT = 1000
SUPPLY_SHORTFALL = 1.02
"""How much more the consumers of a made part ask for than its jobs make."""


@dataclass
class PartSpec:
    number: str
    description: str
    tracking: str
    level: int
    """0 for bought parts, 1 to 6 for made ones."""
    uom: str = "ea"
    shelf_life_days: int | None = None
    backflush: bool = False
    build_lots: bool = False
    """A serial-tracked assembly whose serials carry their job's lot."""
    usage: dict[str, int] = field(default_factory=dict)
    """Each component's quantity per unit made, in thousandths (serial parts: one per unit)."""
    batch: int = 0
    """What one job makes: thousandths for a lot part, units for a serial part."""
    supply: int = 0
    """Bought parts: thousandths per received lot or bulk delivery; serials per delivery."""
    serial_prefix: str = ""

    @property
    def made(self) -> bool:
        return self.level > 0

    def batch_thousandths(self) -> int:
        return self.batch * UNIT if self.tracking == "serial" else self.batch

    def needs(self, component: PartSpec) -> int:
        """What one job of this part needs of `component`: thousandths, or serials."""
        per_unit = self.usage[component.number]
        if component.tracking == "serial":
            return per_unit * self.batch_thousandths() // UNIT
        amount = per_unit * self.batch_thousandths() // UNIT
        return _round_to_uom(amount, component.uom)


RAW = [
    ("RM-BASE", "Base resin PA66, silo", 365),
    ("RM-PP", "Polypropylene homopolymer", 365),
    ("RM-GF", "Glass fibre, chopped", None),
    ("RM-TALC", "Talc filler", None),
    ("RM-BLACK", "Black masterbatch", 180),
    ("RM-BLUE", "Blue masterbatch", 180),
    ("RM-UV", "UV stabiliser", 120),
    ("RM-FR", "Flame retardant", 240),
]
SERIAL_BOUGHT = [
    ("MOTOR-075", "Motor 0.75 kW", "M1"),
    ("MOTOR-150", "Motor 1.5 kW", "M2"),
    ("SENSOR-P", "Pressure sensor", "SP"),
    ("SENSOR-T", "Temperature sensor", "ST"),
]
UNTRACKED = [
    ("BOLT-M6", "Bolt M6x20"),
    ("BOLT-M8", "Bolt M8x30"),
    ("NUT-M6", "Nut M6"),
    ("WASHER-6", "Washer 6 mm"),
    ("BOX-S", "Carton, small"),
]
BACKFLUSH = [("GREASE", "Assembly grease", "kg"), ("LOCTITE", "Thread locker", "kg")]

SUPPLIERS = [
    "Acme Polymers",
    "Nordic Resins",
    "Baltic Compounds",
    "Rheinfaser GmbH",
    "Motoren Werk",
    "Sensa Instruments",
    "Fastenal Supply",
    "PackRight",
]
CUSTOMERS = [
    f"{name} {suffix}"
    for name in (
        "Hydro",
        "AquaFlow",
        "Pumpwerk",
        "Irrigo",
        "Delta Water",
        "Norte Agua",
        "Blue River",
        "Civic Utilities",
        "FarmPro",
        "Coastal",
    )
    for suffix in ("Ltd", "Systems", "Services", "Group")
]
SPARES_CUSTOMER = "Field Service Spares"

RECEIVING = "RCV"
SHIPPING = "SHIP"
RACKS = [f"{aisle}-{bay:02d}" for aisle in "ABCDEFGH" for bay in range(1, 11)]
LINES = [f"LINE-{level}" for level in range(1, LEVELS + 1)]
DEVICES = [f"H{n:03d}" for n in range(1, 13)]
OPERATORS = [f"B{1000 + n}" for n in range(1, 41)]
SUPERVISORS = ["B9001", "B9002", "B9003"]


def build_catalogue() -> dict[str, PartSpec]:
    """Every part of the plant, bought parts first, with balanced job sizes."""
    parts: dict[str, PartSpec] = {}
    for number, description, shelf in RAW:
        parts[number] = PartSpec(number, description, "lot", 0, uom="kg", shelf_life_days=shelf)
    for number, description, prefix in SERIAL_BOUGHT:
        parts[number] = PartSpec(number, description, "serial", 0, serial_prefix=prefix)
    for number, description in UNTRACKED:
        parts[number] = PartSpec(number, description, "none", 0)
    for number, description, uom in BACKFLUSH:
        parts[number] = PartSpec(number, description, "none", 0, uom=uom, backflush=True)

    def made(
        number: str,
        description: str,
        level: int,
        usage: dict[str, int],
        *,
        tracking: str = "lot",
        uom: str = "ea",
        serial_prefix: str = "",
        build_lots: bool = False,
        batch: int = 0,
    ) -> str:
        parts[number] = PartSpec(
            number, description, tracking, level, uom=uom, usage=usage, batch=batch,
            serial_prefix=serial_prefix, build_lots=build_lots,
        )  # fmt: skip
        return number

    other_raw = [number for number, _, _ in RAW[1:]]
    compounds = [
        made(f"CPD-{i + 1:02d}", f"Compound {i + 1}", 1,
             {"RM-BASE": 800, other_raw[i % len(other_raw)]: 200}, uom="kg")
        for i in range(8)
    ]  # fmt: skip
    mouldings = [
        made(f"MLD-{i + 1:02d}", f"Moulding {i + 1}", 2,
             {compounds[i]: 300, compounds[(i + 1) % 8]: 100})
        for i in range(8)
    ]  # fmt: skip
    subassemblies = [
        made(f"SUB-{i + 1:02d}", f"Subassembly {i + 1}", 3,
             {mouldings[i]: 2000, mouldings[(i + 1) % 8]: 1000, "BOLT-M6": 4000, "GREASE": 10})
        for i in range(8)
    ]  # fmt: skip
    modules = [
        made(f"MOD-{i + 1:02d}", f"Module {i + 1}", 4,
             {subassemblies[i]: 1000, subassemblies[(i + 1) % 8]: 1000, "NUT-M6": 4000})
        for i in range(8)
    ]  # fmt: skip
    units = [
        made(f"UNIT-{i + 1:02d}", f"Pump unit {i + 1}", 5,
             {modules[i]: 1000, modules[i + 1]: 1000, "WASHER-6": 2000})
        for i in range(6)
    ]  # fmt: skip
    drives = [
        made(f"DRV-{j + 1:02d}", f"Drive unit {j + 1}", 5,
             {modules[6 + j]: 1000, modules[(7 + j) % 8]: 1000, f"MOTOR-{('075', '150')[j]}": 1},
             tracking="serial", serial_prefix=f"D{j + 1}")
        for j in range(2)
    ]  # fmt: skip
    for j in range(5):
        made(f"PUMP-{j + 1:02d}", f"Pump {j + 1}", 6,
             {drives[j % 2]: 1, units[j]: 1000, ("SENSOR-P", "SENSOR-T")[j % 2]: 1,
              "BOLT-M8": 8000, "LOCTITE": 5},
             tracking="serial", serial_prefix=f"P{j + 1}", build_lots=j < 3, batch=6)  # fmt: skip
        made(f"KIT-{j + 1:02d}", f"Service kit {j + 1}", 6,
             {units[(j + 1) % 6]: 1000, units[(j + 3) % 6]: 1000, "BOX-S": 1000},
             batch=40 * UNIT)  # fmt: skip
    _balance(parts)
    return parts


def _balance(parts: dict[str, PartSpec]) -> None:
    """Sets each made part's batch from what its consumers' jobs need, top level first, and
    each bought part's delivery size from a day's worth at one job per part."""
    for level in range(LEVELS, -1, -1):
        for part in parts.values():
            if part.level != level or (part.batch and level == LEVELS):
                continue
            demand = sum(
                consumer.needs(part) for consumer in parts.values() if part.number in consumer.usage
            )
            if part.made:
                part.batch = max(1, round(demand / SUPPLY_SHORTFALL))
                if part.tracking != "serial":
                    part.batch = _round_to_uom(part.batch, part.uom)
            elif part.tracking == "serial":
                part.supply = max(demand * 4, 10)
            else:
                part.supply = _round_to_uom(demand * 3, part.uom)


def _round_to_uom(amount: int, uom: str) -> int:
    """Pieces come whole; kilograms may carry grams."""
    if uom == "ea":
        return max(UNIT, round(amount / UNIT) * UNIT)
    return max(1, amount)
