"""``load_model`` / ``save_model`` / ``load_weights`` / ``save_weights`` with Keras's signatures.

The files are Keras 3's (``rnnlens.interop.keras_format`` reads and writes them):
``.keras`` archives and legacy ``.h5`` models are loaded and written, ``.weights.h5``
weights too; a compiled model's file carries its compile arguments and its optimizer's
variables, so training resumes where it stopped. Loading is safe whatever ``safe_mode``
says: nothing in a file is imported or executed. Besides rnnlens's built-in layers, the
reader builds a user's layer class only when the caller made it known, as Keras's safe
mode does: passed in ``custom_objects`` or registered with
``register_keras_serializable``, found by the file's ``registered_name``
(``"package>Name"``), and built by the class's ``from_config`` from the config as data,
under the same size caps. ``save_model`` writes a registered custom class as Keras does
(its ``get_config()`` and ``registered_name``) and refuses an unregistered one.

What rnnlens does not do (yet), and says so:
* ``compile=True`` compiles the loaded model from the file's ``compile_config``
  (``.keras``) or ``training_config`` (legacy ``.h5``) and restores the optimizer's
  variables, when rnnlens has those objects; otherwise a ``UserWarning`` names the
  reason and the model comes back uncompiled.
* Unzipped directories (``zipped=False``), sharded weights (``max_shard_size``) and
  loading ``.weights.json`` / Orbax checkpoints raise ``ValueError``; so does
  ``overwrite=False`` on an existing file (Keras would ask on stdin; rnnlens never
  prompts).
* ``skip_mismatch=True``: weights that match still load; a mismatch raises with a
  note that skipping is not implemented.
"""

from __future__ import annotations

import os
import re
from typing import Any

from rnnlens.saving import object_registration as reg


def _path(filepath: Any) -> str:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"Received filepath={filepath!r} of type {type(filepath).__name__}, "
                        "expected a str or pathlib.Path.")
    return os.fspath(filepath)


def _check_model(model: Any, fn: str) -> None:
    from rnnlens.models import Model

    if not isinstance(model, Model):
        raise TypeError(f"{fn} expects an rnnlens Model (Sequential or functional), "
                        f"received {type(model).__name__}.")


def _refuse_existing(path: str, overwrite: Any) -> None:
    if not overwrite and os.path.exists(path):
        raise ValueError(f"{path} already exists and overwrite=False. Keras would ask on "
                         "stdin whether to overwrite; rnnlens never prompts: pass "
                         "overwrite=True or choose another name.")


# ---------------------------------------------------------------------------- models
def save_model(model: Any, filepath: Any, overwrite: bool = True, zipped: bool | None = None,
               **kwargs: Any) -> None:
    """Saves ``model`` as a ``.keras`` file (or a legacy ``.h5``) that Keras 3.15.1's
    ``load_model`` opens, with its compile arguments and optimizer state once compiled.

    Args:
        model: an rnnlens Model.
        filepath: a path ending in ``.keras`` (or ``.h5`` / ``.hdf5``: legacy HDF5).
        overwrite: False refuses (``ValueError``) to replace an existing file.
        zipped: None or True (a ``.keras`` zip); False (a directory) is not supported.
        include_optimizer: legacy ``.h5`` only (as Keras): False leaves out the
            training config and the optimizer's variables.
    """
    _check_model(model, "save_model")
    path = _path(filepath)
    include_optimizer = kwargs.pop("include_optimizer", True)
    save_format = kwargs.pop("save_format", False)
    if save_format and not path.endswith((".h5", ".hdf5", ".keras")):
        raise ValueError("The `save_format` argument is deprecated in Keras 3. Please remove "
                         "this argument and pass a file path with either `.keras` or `.h5` "
                         f"extension. Received: save_format={save_format}")
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if zipped is not None and not zipped:
        raise ValueError("zipped=False (an unzipped model directory) is not supported by "
                         "rnnlens; save a .keras file.")
    if not path.endswith((".keras", ".h5", ".hdf5")):
        raise ValueError("Invalid filepath extension for saving. Please add either a "
                         "`.keras` extension for the native Keras format (recommended) or a "
                         f"`.h5` extension. Received: filepath={path}.")
    _refuse_existing(path, overwrite)
    from rnnlens.interop.keras_format import save_model as _save

    _save(model, path, include_optimizer=bool(include_optimizer))


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None,
               compile: bool = True, safe_mode: bool = True, limits: Any = None,
               semantics: Any = None) -> Any:
    """Loads a Keras model file safely (see ``rnnlens.models.load_model``).

    Args:
        filepath: a ``.keras`` file, a legacy ``.h5`` model or a SavedModel directory
            (the kind is read from the file, not its name).
        limits: size caps (``rnnlens.interop.Limits``).
        semantics: which Keras's definitions the model computes with (default: the
            version that saved the file).
        custom_objects: ``{name: class or function}``, active while loading; a layer
            class is found by the file's ``registered_name`` (the class name for an
            unregistered Keras class), as Keras finds it.
        compile: compile from the file's ``compile_config`` / ``training_config`` and
            restore the optimizer's state (default True, as Keras).
        safe_mode: accepted; rnnlens never executes code from a file either way.

    Raises:
        ValueError: (``UnsafeModelError``) naming the file and why it was refused.
    """
    path = _path(filepath)
    objects = reg._check_objects(custom_objects)
    from rnnlens.interop.keras_format import UnsafeModelError
    from rnnlens.interop.keras_format import load_model as _load

    with reg.CustomObjectScope({**objects, **reg._scope_dict()}):
        try:
            model = _load(path, limits, semantics, compile=bool(compile))
        except UnsafeModelError as err:
            note = _custom_class_note(str(err), objects)
            if not note:
                raise
            raise UnsafeModelError(f"{err} {note}") from None
    return model


def _custom_class_note(message: str, objects: dict[str, Any]) -> str:
    """The explanation for a refused class that the caller registered or passed."""
    match = re.search(r"class '([^']+)' is not one rnnlens knows", message)
    if not match:
        return ""
    name = match.group(1)
    known = {**reg.GLOBAL_CUSTOM_OBJECTS, **objects, **reg._scope_dict()}
    if not any(key == name or key.endswith(f">{name}") for key in known
               if isinstance(key, str)):
        return ""
    return (f"'{name}' is in custom_objects / registered, but not under the name the file "
            f"gives it (its registered_name, such as 'package>{name}'; Keras looks the class "
            "up by that name too), or it is not a Layer subclass: register the class with "
            "keras.saving.register_keras_serializable or pass custom_objects={"
            f"'package>{name}': {name}}}.")


# ---------------------------------------------------------------------------- weights
def save_weights(model: Any, filepath: Any, overwrite: bool = True,
                 max_shard_size: Any = None, **kwargs: Any) -> None:
    """Writes the weights to a ``.weights.h5`` file in Keras 3's layout."""
    _check_model(model, "save_weights")
    path = _path(filepath)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    if max_shard_size is not None:
        raise ValueError("max_shard_size (sharded .weights.json) is not supported by "
                         "rnnlens; save one .weights.h5 file.")
    if not path.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={path}")
    _refuse_existing(path, overwrite)
    from rnnlens.interop.keras_format import save_weights as _save

    _save(model, path)


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False, **kwargs: Any
                 ) -> None:
    """Reads ``.weights.h5`` files, or the weights of a ``.keras`` / legacy ``.h5`` file.

    ``by_name=True`` and ``objects_to_skip`` (Keras's legacy options) are not supported.
    """
    _check_model(model, "load_weights")
    path = _path(filepath)
    objects_to_skip = kwargs.pop("objects_to_skip", None)
    by_name = kwargs.pop("by_name", None)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    if objects_to_skip is not None or by_name:
        raise ValueError("`objects_to_skip` and `by_name=True` are not supported by rnnlens; "
                         "weights load in the model's layer order.")
    if path.endswith(".weights.json"):
        raise ValueError(f"Sharded weights ({path}) are not supported by rnnlens.")
    if not path.endswith((".keras", ".weights.h5", ".h5")):
        raise ValueError(f"File format not supported: filepath={path}. rnnlens loads "
                         "`.keras` files, `.weights.h5` files and legacy `.h5` files.")
    from rnnlens.interop.keras_format import load_weights as _load

    try:
        _load(model, path)
    except ValueError as err:
        if not skip_mismatch:
            raise
        raise type(err)(f"{err} (skip_mismatch=True: skipping mismatched layers is not "
                        "implemented in rnnlens yet.)") from None


__all__ = ["load_model", "save_model", "load_weights", "save_weights"]
