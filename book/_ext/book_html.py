"""Local Sphinx extension of the HTML book (listed in _config.yml).

It removes a duplicate script. sphinx-thebe 0.3.1, which Jupyter Book 1
always loads, registers its settings as an inline script
(``const THEBE_JS_URL = ...``) with ``app.add_js_file(None, body=...)`` while
the sources are read. Sphinx 7 then adds every registered script once more
when it starts writing (``prepare_writing``) and skips those already there,
but the first copy is stored with the file name ``None`` and the second with
``''``, so the two do not compare equal: every page declared the constants
twice and the browser logged "Identifier 'THEBE_JS_URL' has already been
declared". Here each page keeps the first of any identical scripts.
"""


def _key(script):
    attrs = getattr(script, "attributes", {})
    name = getattr(script, "filename", script) or ""    # None and '' alike
    return name, tuple(sorted(attrs.items()))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    # After the themes and extensions (default priority 500) have run.
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
