"""One configuration mechanism for the networks, training and evaluation.

A config is a dataclass derived from ``Config`` whose fields are made by ``setting(default, help)``:

- ``from_dict`` refuses unknown keys (naming the allowed ones) and reads strings as YAML, so ``key=value``
  overrides on a command line arrive typed (``steps=200`` an int, ``amp=false`` a bool, ``styles=[a, b]`` a list);
- ``validate`` (run on construction) checks every field against its default's type, then the class's own rules;
  a mistake is a ``ConfigError``: one sentence, no traceback in the CLI or the app;
- ``to_yaml`` writes YAML with each field's help as its comment, so saved configs document themselves;
- ``replace`` copies with some fields changed, validated again.

A field made by ``section(Class, help)`` holds a config of its own (the training stages' settings): it reads a
nested mapping, and its keys may also be given flat (``dress_share: 0.7`` for ``coarse: {dress_share: 0.7}``)
where no other field has that name, so short overrides and older flat files keep working.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sketchface.errors import ConfigError


def setting(default: Any, help: str) -> Any:
    """A config field with its default and the help text its YAML comment shows."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


def section(cls: type, help: str) -> Any:
    """A field holding a config of its own (default: ``cls()``)."""
    return field(default_factory=cls, metadata={"help": help, "section": True})


def _default(f: dataclasses.Field) -> Any:
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _is_section(f: dataclasses.Field) -> bool:
    return bool(f.metadata.get("section"))


def _yaml_value(value: Any) -> str:
    import yaml

    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10 ** 6, allow_unicode=True).strip()
    return text[:-4].strip() if text.endswith("\n...") else text


@dataclass
class Config:
    """Base of every config: typed fields with help texts, validation, dict and YAML round trips."""

    def __post_init__(self) -> None:
        self.validate()

    # ---- fields -------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def _fields(cls) -> dict[str, dataclasses.Field]:
        return {f.name: f for f in dataclasses.fields(cls)}

    @classmethod
    def _sections(cls) -> dict[str, type]:
        return {f.name: type(_default(f)) for f in dataclasses.fields(cls) if _is_section(f)}

    # ---- validation ---------------------------------------------------------------
    def validate(self) -> None:
        """Every field against its default's type (an int where a float is wanted becomes a float; a list where
        a tuple is wanted becomes a tuple); subclasses add their own rules after ``super().validate()``."""
        for f in dataclasses.fields(self):
            value, default = getattr(self, f.name), _default(f)
            if _is_section(f):
                if not isinstance(value, type(default)):
                    raise ConfigError(f"{type(self).__name__}.{f.name} must be a {type(default).__name__}")
                continue
            if default is None or value is None:
                continue
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                setattr(self, f.name, float(value))
            elif isinstance(default, tuple) and isinstance(value, list):
                setattr(self, f.name, tuple(value))
            elif type(value) is not type(default):
                raise ConfigError(f"{type(self).__name__}.{f.name} must be {type(default).__name__}, "
                                  f"got {value!r} ({type(value).__name__})")

    # ---- dict round trip ------------------------------------------------------------
    @classmethod
    def coerce(cls, name: str, value: Any) -> Any:
        """``value`` for field ``name`` as the field wants it: strings read as YAML (a command line's overrides);
        "1e-3", which YAML 1.1 leaves a string, read as a float."""
        import yaml

        default = _default(cls._fields()[name])
        if isinstance(value, str) and not isinstance(default, str):
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ConfigError(f"{name}: {value!r} is not a value") from None
        if isinstance(default, float) and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        return value

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """Build from a mapping: nested mappings for sections, or their keys flat; unknown keys refused."""
        fields, sections = cls._fields(), cls._sections()
        values: dict[str, Any] = {}
        nested: dict[str, dict] = {name: {} for name in sections}
        owners: dict[str, list[str]] = {}
        for name, sec in sections.items():
            for key in sec.field_names():
                owners.setdefault(key, []).append(name)
        for key, value in dict(data).items():
            head, dot, rest = key.partition(".")
            if dot and head in sections:                     # coarse.dress_share=0.7
                nested[head][rest] = value
            elif key in sections:
                if isinstance(value, Config):
                    value = value.to_dict()
                if not isinstance(value, dict):
                    raise ConfigError(f"{key} must be a mapping of its keys, got {value!r}")
                nested[key].update(value)
            elif key in fields:
                values[key] = cls.coerce(key, value)
            elif len(owners.get(key, ())) == 1:              # a section's key given flat
                nested[owners[key][0]][key] = value
            elif owners.get(key):
                raise ConfigError(f"{key!r} is a key of several sections ({', '.join(owners[key])}); write "
                                  + " or ".join(f"{o}.{key}" for o in owners[key]))
            else:
                allowed = [n for n in fields if n not in sections]
                allowed += [f"{s}.{k}" for s, sec in sections.items() for k in sec.field_names()]
                raise ConfigError(f"unknown key {key!r} for {cls.__name__}; allowed keys: {', '.join(allowed)}")
        for name, sec in sections.items():
            values[name] = sec.from_dict(nested[name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, Config) else value
        return out

    def replace(self, **changes: Any) -> "Config":
        """A copy with some fields changed (section keys flat or dotted; unknown names refused)."""
        return type(self).from_dict({**self.to_dict(), **changes})

    # ---- YAML ---------------------------------------------------------------------
    def to_yaml(self, indent: int = 0) -> str:
        """YAML text of the fields, each with its help as a comment; sections nested under their name."""
        pad = " " * indent
        plain = [f for f in dataclasses.fields(self) if not _is_section(f)]
        width = max((len(f"{pad}{f.name}: {_yaml_value(getattr(self, f.name))}") for f in plain), default=0)
        lines = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if _is_section(f):
                lines.append(f"{pad}{f.name}:  # {f.metadata.get('help', '')}")
                lines.append(value.to_yaml(indent + 2).rstrip("\n"))
            else:
                text = f"{pad}{f.name}: {_yaml_value(value)}"
                lines.append(f"{text.ljust(width)}  # {f.metadata.get('help', '')}")
        return "\n".join(lines) + "\n"
