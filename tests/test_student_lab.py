"""``make lab`` is the student set-up: no instructor tools, Validate with the course configuration.

The server's side of it (the browser's side is tests/test_student_browser.py): nbgrader's
instructor server extensions are off, the instructor parts of its JupyterLab extension are
disabled in the page configuration, and Validate runs with autograde/nbgrader_config.py, without
"No nbgrader_config.py file found" or exchange-directory errors.
"""
import json
import re

from student_lab import StudentLab, copy_lesson

LESSON = "01-artificial-neuron"
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list",
                      "@jupyter/nbgrader:menu"}


def test_make_lab_is_the_student_setup(tmp_path):
    work = copy_lesson(LESSON, tmp_path / "lessons")
    with StudentLab(tmp_path, notebook_dir=work) as lab:
        # instructor server extensions are not loaded
        for path in ("/formgrader", "/courses", "/assignments?course_id=mirkit"):
            status, _ = lab.request(path)
            assert status == 404, f"{path} answers {status}: an instructor extension is on"
        # JupyterLab and Notebook 7 pages disable the instructor plugins and keep Validate
        for path in ("/lab", "/tree"):
            page = lab.get(path)
            config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">'
                                          r"(.*?)</script>", page, re.S).group(1))
            disabled = set(config.get("disabledExtensions", []))
            assert INSTRUCTOR_PLUGINS <= disabled, (path, INSTRUCTOR_PLUGINS - disabled)
            assert "@jupyter/nbgrader:validate-assignment" not in disabled
        status, body = lab.request("/nbgrader_version?version=" + _nbgrader_version())
        assert status == 200 and json.loads(body)["success"], body
        # Validate runs the blank lesson (with the course config) and lists its failing tests
        status, body = lab.request("/assignments/validate",
                                   {"path": f"{LESSON}/{LESSON}.ipynb"}, timeout=240)
        assert status == 200, body
        result = json.loads(body)
        assert result["success"], result["value"]
        failed = result["value"].get("failed", [])
        assert failed and all("with exercise(" in f["source"] for f in failed), failed
    log = lab.log.read_text(errors="replace")
    assert "No nbgrader_config.py file found" not in log
    assert "exchange directory" not in log.lower() and "Error fetching courses" not in log
    assert "Loading the formgrader" not in log


def _nbgrader_version() -> str:
    import nbgrader

    return nbgrader.__version__
