"""The main window: script editor in the middle, speakers on the left, the line inspector on the right, the
timeline below; menus, toolbar and shortcuts; status bar with model, device, dtype and queue progress."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QDialog, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QProgressDialog)

from gui import icons, theme
from gui.checks_panel import ChecksPanel
from gui.download_dialog import DownloadBridge, ModelLoadDialog
from gui.generation import GenerationController
from gui.inspector import LineInspector
from gui.line_state import LineState, LineView
from gui.live_view import LiveView
from gui.model_info import local_model_info, remember
from projects.audio import resample
from projects.catalogue import model_title
from gui.playback import Player
from gui.sampling_form import ProjectSamplingDialog
from gui.script_editor import ScriptEditor
from gui.session import ProjectSession, default_export_folder, discard_scratch_folder
from gui.settings import AppSettings, EngineSettings
from gui.settings_dialog import SettingsDialog
from gui.speakers_panel import SpeakersColumn, SpeakersPanel
from gui.take_checks import connect_speakers, install_take_checks, verdict_detail
from gui.timeline import MixBuilder, MixSnapshot, TimelinePanel
from projects.estimate import estimate_seconds
from projects.model import Sampling
from projects.project import Project
from projects.store import CorruptProjectError, ProjectError
from projects.tags import known_tags
from projects.takes import LineStatus, take_rate

SCRIPT_SYNC_MS = 250  # typing is parsed into lines after this pause
VIEW_REFRESH_MS = 30  # coalesces bursts of state changes into one repaint
COMPARE_PAUSE_S = 0.4


def load_engine(settings: EngineSettings):
    """The real engine as the settings describe it (runs on the worker thread)."""
    from dia_engine import DiaEngine

    codec = None if settings.codec.lower() == "none" else settings.codec
    return DiaEngine.from_pretrained(settings.model, device=settings.device or None, dtype=settings.dtype or None,
                                     codec=codec)


def default_scratch_root() -> Path:
    from dia_engine.appdirs import data_dir

    return data_dir() / "unsaved"


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d} left"


def key_sequences(keys: list) -> list[QKeySequence]:
    """Each key once: a standard key brings all of the platform's bindings for it, and an explicit alternate
    that one of them already covers is dropped (a sequence bound twice makes Qt fire neither)."""
    sequences: list[QKeySequence] = []
    for key in keys:
        found = (QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey)
                 else [QKeySequence(key)])
        sequences += [s for s in found if not s.isEmpty() and s not in sequences]
    return sequences


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, *, scratch_root: Path | None = None,
                 engine_factory: Callable[[EngineSettings], object] = load_engine):
        super().__init__()
        self.settings = settings
        self.scratch_root = Path(scratch_root) if scratch_root else default_scratch_root()
        self.session: ProjectSession | None = None
        self.snapshot: MixSnapshot | None = None
        self._play_origin = 0.0
        self._load_dialog: QProgressDialog | None = None
        self.last_error: tuple[str, str] | None = None
        self._statuses: dict[str, LineStatus] | None = None  # cached: live progress updates need no disk checks
        self._lint_dirty = True
        self._inspector_dirty = True
        self._load_failed = False
        self.setWindowTitle("Dia Studio")
        self.setWindowIcon(icons.app_icon())
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.player = Player(self)
        self.downloads = DownloadBridge(self)  # the hub download's progress and Cancel, across the worker thread
        self._engine_model = self.settings.engine().model  # the model to load (set on the UI thread at Generate)
        self.controller = GenerationController(lambda: self.downloads.run(
            lambda: engine_factory(dataclasses.replace(self.settings.engine(), model=self._engine_model))),
                                               batch_size=settings.engine().batch_size, parent=self)
        self.mix_builder = MixBuilder(self)

        self.editor = ScriptEditor(known_tags())
        self.setCentralWidget(self.editor)
        self.speakers_dock = self._dock("Speakers", "speakers", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Line", "inspector", Qt.DockWidgetArea.RightDockWidgetArea)
        self.timeline_dock = self._dock("Timeline", "timeline", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.timeline = TimelinePanel()
        self.timeline_dock.setWidget(self.timeline)
        self.checks = ChecksPanel()
        self.checks.lineRequested.connect(lambda line: self.editor.move_to_block(line - 1))
        self.speakers_panel: SpeakersPanel | None = None
        self.inspector: LineInspector | None = None

        self._sync_timer = self._single_shot(SCRIPT_SYNC_MS, self.sync_script)
        self._views_timer = self._single_shot(VIEW_REFRESH_MS, self.refresh_views)
        self._mix_timer = self._single_shot(120, self._rebuild_mix)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start(settings.autosave_seconds() * 1000)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.live_view = LiveView(self)  # "Play as it renders" (gui/live_view.py)
        self.take_checks = install_take_checks(self)
        self._restore_window()

    # ================================================================================================ construction
    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _single_shot(self, ms: int, slot) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def _action(self, text: str, slot, shortcut=None, icon=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(icon)
        if shortcut is not None:
            action.setShortcuts(key_sequences(shortcut if isinstance(shortcut, list) else [shortcut]))
        if tip:
            action.setStatusTip(tip)
            shortcut_text = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({shortcut_text})" if shortcut_text else tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        style = self.style()
        SP = style.StandardPixmap
        self.act_new = self._action("&New", self.new_project, QKeySequence.StandardKey.New,
                                    style.standardIcon(SP.SP_FileIcon), "New project")
        self.act_open = self._action("&Open…", self.choose_project, QKeySequence.StandardKey.Open,
                                     style.standardIcon(SP.SP_DirOpenIcon), "Open a project folder")
        self.act_save = self._action("&Save", self.save, QKeySequence.StandardKey.Save,
                                     style.standardIcon(SP.SP_DialogSaveButton), "Save the project")
        self.act_save_as = self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs,
                                        tip="Save the project into a new folder")
        self.act_export = self._action("&Export…", self.export, "Ctrl+E", icons.export_icon(),
                                       "Export the episode")
        self.act_settings = self._action("Se&ttings…", self.edit_settings, "Ctrl+,", tip="Model, device, defaults")
        self.act_quit = self._action("&Quit", self.close, [QKeySequence.StandardKey.Quit, "Ctrl+Q"])
        self.act_undo = self._action("&Undo", lambda: self.session and self.session.undo(),
                                     QKeySequence.StandardKey.Undo)
        self.act_redo = self._action("&Redo", lambda: self.session and self.session.redo(),
                                     [QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z", "Ctrl+Y"])
        self.act_sampling = self._action("Project &Sampling…", self.edit_sampling,
                                         tip="Sampling parameters of every line")
        self.act_generate_line = self._action("Generate &Line", self.generate_current_line,
                                              ["Ctrl+Return", "Ctrl+Enter"], icons.generate_icon(),
                                              "Generate a new take of the current line")
        self.act_generate_all = self._action("Generate &All Missing and Stale", self.generate_missing,
                                             ["Ctrl+Shift+Return", "Ctrl+Shift+Enter"], icons.generate_icon(True),
                                             "Generate every line without an up-to-date take")
        self.act_stop = self._action("&Stop", self.stop_generation, "Esc", icons.cancel_icon(),
                                     "Stop generating (finished takes stay)")
        self.act_play = self._action("&Play / Stop", self.toggle_playback, "Space", icons.play_icon(),
                                     "Play the timeline from the cursor, or stop")
        self.act_play_line = self._action("Play Current &Line", self.play_current_line, "Ctrl+Shift+Space",
                                          tip="Play the current line's active take")
        self.act_prev_take = self._action("Pre&vious Take", lambda: self.step_take(-1), "Alt+Up",
                                          tip="Use the previous take of the current line")
        self.act_next_take = self._action("&Next Take", lambda: self.step_take(1), "Alt+Down",
                                          tip="Use the next take of the current line")
        self.act_about = self._action("&About Dia Studio", self.about)
        self.act_log = self._action("Open &Log Folder", self.open_log_folder)
        self.act_stop.setEnabled(False)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addAction(self.act_export)
        m.addSeparator()
        m.addAction(self.act_settings)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addAction(self.act_sampling)
        m = bar.addMenu("&Generate")
        m.addActions([self.act_generate_line, self.act_generate_all, self.act_stop])
        m = bar.addMenu("&Playback")
        m.addActions([self.act_play, self.act_play_line])
        m.addSeparator()
        m.addActions([self.act_prev_take, self.act_next_take])
        self.view_menu = bar.addMenu("&View")
        for dock in (self.speakers_dock, self.inspector_dock, self.timeline_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        m = bar.addMenu("&Help")
        m.addActions([self.act_about, self.act_log])

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        for action in (self.act_generate_line, self.act_generate_all, self.act_stop):
            tb.addAction(action)
        tb.addSeparator()
        tb.addAction(self.act_play)
        self.transport_label = QLabel("0:00.0")
        self.transport_label.setFont(theme.editor_font(13))
        self.transport_label.setStyleSheet(f"color: {theme.PLAYHEAD.name()}; padding: 0 10px;")
        self.transport_label.setToolTip("Playback position / timeline length")
        tb.addWidget(self.transport_label)
        tb.addSeparator()
        tb.addAction(self.act_export)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.queue_bar = QProgressBar()
        self.queue_bar.setRange(0, 1000)
        self.queue_bar.setMaximumWidth(180)
        self.queue_bar.setTextVisible(False)
        self.queue_bar.hide()
        self.queue_label = QLabel()
        self.queue_label.hide()
        self.playback_label = QLabel()
        self.engine_label = QLabel()
        sb.addPermanentWidget(self.queue_label)
        sb.addPermanentWidget(self.queue_bar)
        sb.addPermanentWidget(self.playback_label)
        sb.addPermanentWidget(self.engine_label)
        if not self.player.available:
            self.playback_label.setText("Playback off")
            self.playback_label.setStyleSheet(f"color: {theme.WARNING.name()};")
            self.playback_label.setToolTip(self.player.unavailable_reason)
            for action in (self.act_play, self.act_play_line):
                action.setEnabled(False)
                action.setStatusTip(self.player.unavailable_reason)
                action.setToolTip(self.player.unavailable_reason)
        self._show_engine_status()

    def _connect(self) -> None:
        ed = self.editor
        ed.textChanged.connect(self._sync_timer.start)
        ed.currentLineChanged.connect(self._current_line_changed)
        ed.lineActivated.connect(self._play_block)
        c = self.controller
        c.liveStateChanged.connect(lambda _line_id: self._views_timer.start())
        c.takeArrived.connect(self._take_arrived)
        c.queueProgress.connect(self._queue_progress)
        c.busyChanged.connect(self._busy_changed)
        c.engineLoading.connect(self._engine_loading)
        c.engineReady.connect(self._engine_ready)
        c.engineFailed.connect(self._engine_failed)
        c.lineFailed.connect(self._line_failed)
        c.finished.connect(self._generation_finished)
        p = self.player
        p.positionChanged.connect(self._playback_position)
        p.stopped.connect(self._playback_stopped)
        self.mix_builder.ready.connect(self._mix_ready)
        self.mix_builder.failed.connect(self._mix_failed)  # a bound slot: delivered on the GUI thread
        t = self.timeline
        t.view.cursorMoved.connect(self._timeline_cursor_moved)
        t.view.clipSelected.connect(self._timeline_clip_selected)
        t.gapChanged.connect(lambda line_id, gap: self.session and self.session.set_gap(line_id, gap))
        t.gainChanged.connect(lambda line_id, gain: self.session and self.session.set_gain(line_id, gain))
        t.trimChanged.connect(lambda line_id, trim: self.session and self.session.set_trim(line_id, trim))

    def _restore_window(self) -> None:
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 820)
        if state is not None:
            self.restoreState(state)
        else:
            self.resizeDocks([self.speakers_dock, self.inspector_dock], [300, 400], Qt.Orientation.Horizontal)
            self.resizeDocks([self.timeline_dock], [170], Qt.Orientation.Vertical)

    # ================================================================================================ projects
    def new_project(self, folder: Path | None = None) -> bool:
        """A new project in `folder` (created; it must be new or empty), or an untitled one in a scratch folder."""
        if folder is not None and (Path(folder) / "project.json").exists():
            self._error("Cannot create a project", f"{folder} already holds a project: open it instead.")
            return False
        if not self._release_session():
            return False
        untitled = folder is None
        if untitled:
            folder = self.scratch_root / time.strftime("untitled-%Y%m%d-%H%M%S")
            n = 1
            while folder.exists():
                folder = folder.with_name(f"{folder.name}-{n}")
                n += 1
        try:
            project = Project.create(folder, name="Untitled" if untitled else Path(folder).name)
            info = local_model_info(self.settings.engine().model)
            if info is not None:  # the settings' defaults for this model's family (else the family's own)
                project.doc.sampling = Sampling(**self.settings.sampling_defaults(info.family))
                project.doc.sampling_family = info.family
            project.save()
        except (ProjectError, OSError) as e:
            self._error("Cannot create a project", str(e))
            return False
        self._attach(ProjectSession(project, untitled=untitled))
        if not untitled:
            self.settings.add_recent_project(str(Path(folder).resolve()))
        return True

    def open_from_command_line(self, folder: Path, new: bool = False) -> bool:
        """The folder named at start: a project opens, an empty folder starts one; a folder that does not exist
        (perhaps a typo) starts one only with `new` or after asking."""
        if not folder.exists() and not new:
            answer = QMessageBox.question(self, "Create a new project?",
                                          f"{folder} does not exist.\n\nCreate a new project there?",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        fresh = not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))
        return self.new_project(folder) if fresh else self.open_project(folder)

    def offer_recovery(self) -> bool:
        """After a crash: offer to reopen the project that was open, with its autosaved state. True if reopened."""
        folder = self.settings.unclean_session()
        if not folder or not (Path(folder) / "project.json").exists():
            return False
        path = Path(folder)
        when = time.strftime("%d %b %H:%M:%S", time.localtime((path / "project.json").stat().st_mtime))
        scratch = self.scratch_root in path.resolve().parents
        name = "an unsaved project" if scratch else f"“{path.name}”"
        declining = ("\n\nNo deletes that unsaved project and its takes." if scratch
                     else f"\n\nNo leaves it in {path} to open later.")
        answer = QMessageBox.question(
            self, "Recover your work?",
            f"Dia Studio did not close properly while {name} was open.\n\nReopen it as autosaved at {when}? "
            f"Takes are kept as they were generated.{declining}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        self.settings.mark_session_closed()
        if answer == QMessageBox.StandardButton.Yes:
            return self.open_project(path)
        if scratch:  # declined, as the question said: nothing else can ever open the scratch folder again
            shutil.rmtree(path, ignore_errors=True)
        return False

    def choose_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open project folder")
        if folder:
            self.open_project(Path(folder))

    def open_project(self, folder: Path) -> bool:
        folder = Path(folder)
        try:
            project = Project.open(folder)
        except CorruptProjectError as e:
            if e.backup is None:
                self._error("Cannot open the project", str(e))
                return False
            answer = QMessageBox.question(self, "Project file damaged",
                                          f"{e}\n\nRestore the newest good backup? The damaged file is kept "
                                          "beside it as project.json.corrupt.")
            if answer != QMessageBox.StandardButton.Yes:
                return False
            project = Project.restore_backup(folder, e.backup)
        except ProjectError as e:
            self._error("Cannot open the project", str(e))
            self.settings.remove_recent_project(str(folder))
            return False
        if not self._release_session():
            return False
        untitled = self.scratch_root in folder.resolve().parents
        self._attach(ProjectSession(project, untitled=untitled))
        if not untitled:
            self.settings.add_recent_project(str(folder.resolve()))
        return True

    def _attach(self, session: ProjectSession) -> None:
        self.session = session
        model = self.project_model()
        loaded = self.controller.model_info
        session.model_info = (loaded if loaded is not None and loaded.model_id == model
                              else local_model_info(model))
        self._statuses = None
        self._lint_dirty = True
        self.take_checks.open_project(session.project)
        session.setParent(self)
        self.editor.blockSignals(True)
        self.editor.setPlainText(session.project.doc.script)
        self.editor.blockSignals(False)
        self.editor.document().clearUndoRedoStacks()
        session.attach_document(self.editor.document())
        session.undo_stack.clear()
        session.undo_stack.indexChanged.connect(self._undo_changed)
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)
        session.linesChanged.connect(self._project_changed)
        session.lineChanged.connect(self._line_changed)
        session.timelineChanged.connect(self._timeline_changed)
        session.speakersChanged.connect(self._project_changed)
        session.dirtyChanged.connect(self._update_title)
        session.saveFailed.connect(lambda message: self.statusBar().showMessage(f"Autosave failed: {message}", 10000))

        self.speakers_panel = SpeakersPanel(session)
        self.speakers_panel.playRequested.connect(self.play_speaker_clip)
        self.speakers_panel.errorRaised.connect(self._voice_error)
        connect_speakers(self.take_checks, self.speakers_panel)
        self.speakers_panel.pendingChanged.connect(self._pending_voices_changed)
        self.speakers_panel.set_playback(self.player.available, self.player.unavailable_reason)
        self._replace_dock_widget(self.speakers_dock, SpeakersColumn(self.speakers_panel, self.checks))
        self.inspector = LineInspector(session)
        self.inspector.take_check = self.take_checks.result
        self.inspector.generateRequested.connect(self._regenerate)
        self.inspector.playTakeRequested.connect(self.play_take)
        self.inspector.compareRequested.connect(self.compare_takes)
        self.inspector.keepOnlyActiveRequested.connect(self.keep_only_active)
        self.inspector.seekRequested.connect(self._inspector_seek)
        self.inspector.samplingEditRequested.connect(self.edit_sampling)
        self.inspector.set_playback(self.player.available, self.player.unavailable_reason)
        self._replace_dock_widget(self.inspector_dock, self.inspector)

        self.snapshot = None
        self.timeline.set_snapshot(None)
        self.timeline.show_line(None)
        self.settings.mark_session_open(str(session.folder))
        self._update_title()
        self.refresh_views()
        self.editor.reset_current_line()  # the highlight and the inspector start on the same line
        self._rebuild_mix()

    @staticmethod
    def _replace_dock_widget(dock: QDockWidget, widget) -> None:
        old = dock.widget()
        dock.setWidget(widget)
        if old is not None:
            old.deleteLater()  # the previous project's panels

    def _undo_changed(self, *_args) -> None:
        if self.session is None:
            return
        stack = self.session.undo_stack
        self.act_undo.setEnabled(stack.canUndo())
        self.act_redo.setEnabled(stack.canRedo())
        self.act_undo.setText(f"&Undo {stack.undoText()}".strip())
        self.act_redo.setText(f"&Redo {stack.redoText()}".strip())

    def _voice_error(self, message: str) -> None:
        self._error("Voice clip", message)

    def _regenerate(self, line_id: str) -> None:
        self.generate([line_id], force=True)

    def _release_session(self) -> bool:
        """Close the current project (asking what to do with an untitled one). False when the user cancels."""
        if self.session is None:
            return True
        if self.controller.busy:
            answer = QMessageBox.question(self, "Generation running",
                                          "Lines are being generated. Stop and close this project?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
            self.controller.stop()
            self._wait_idle()
        self.player.stop()
        self.sync_script()
        session = self.session
        if session.untitled:
            if session.project.doc.script.strip() or any(line.takes for line in session.project.doc.lines):
                answer = QMessageBox.question(
                    self, "Keep this project?", "This project has not been saved to a folder yet. Save it?",
                    QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                    | QMessageBox.StandardButton.Cancel)
                if answer == QMessageBox.StandardButton.Cancel:
                    return False
                if answer == QMessageBox.StandardButton.Save and not self.save_as():
                    return False
            session.close()
            if session.untitled:  # discarded (or empty): the project goes, anything exported into it stays
                discard_scratch_folder(session.folder)
        else:
            self._save_quietly()
            session.close()
        self.session = None
        for signal in (session.linesChanged, session.lineChanged, session.timelineChanged, session.speakersChanged,
                       session.dirtyChanged, session.undo_stack.indexChanged):
            signal.disconnect()
        session.deleteLater()
        return True

    def _wait_idle(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.controller.busy and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)

    def save(self) -> bool:
        if self.session is None:
            return False
        if self.session.untitled:
            return self.save_as()
        self.sync_script()
        try:
            self.session.save()
        except (ProjectError, OSError) as e:
            self._error("Cannot save", str(e))
            return False
        self.statusBar().showMessage(f"Saved {self.session.folder}", 3000)
        return True

    def save_as(self, target: Path | None = None) -> bool:
        """Copy the project into a new (or empty) folder and continue there."""
        if self.session is None:
            return False
        if self.controller.busy:
            self._error("Save As", "Stop generating first (Esc): takes are being written into the project folder.")
            return False
        if target is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save project as (a folder is created)",
                                                  str(Path.home() / (self.session.name or "Episode")))
            if not path:
                return False
            target = Path(path)
        target = target.expanduser().resolve()
        if target.exists() and any(target.iterdir()):
            self._error("Save As", f"{target} is not empty: choose a new folder name.")
            return False
        self.sync_script()
        session = self.session
        old = session.folder
        try:
            session.project.doc.name = target.name
            session.flush_saves()
            session.save()
            shutil.copytree(old, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*.tmp"))
        except (ProjectError, OSError) as e:
            self._error("Cannot save", str(e))
            return False
        session.project.folder = target
        if session.untitled:
            discard_scratch_folder(old)
        session.untitled = False
        self.settings.add_recent_project(str(target))
        self.settings.mark_session_open(str(target))
        self.speakers_panel.refresh()
        self._update_title()
        self.statusBar().showMessage(f"Saved as {target}", 4000)
        return True

    def autosave(self) -> None:
        """Timer: write the project if anything changed (takes are saved the moment they arrive)."""
        if self.session is not None and (self.session.dirty or self._sync_timer.isActive()):
            self.sync_script()
            self.session.save_soon()  # off the UI thread; failures arrive as saveFailed

    def _save_quietly(self) -> None:
        try:
            self.session.save()
        except (ProjectError, OSError) as e:
            self.statusBar().showMessage(f"Autosave failed: {e}", 10000)

    def _update_title(self, *_args) -> None:
        if self.session is None:
            self.setWindowTitle("Dia Studio")
            return
        where = "not saved to a folder yet" if self.session.untitled else str(self.session.folder)
        self.setWindowTitle(f"{self.session.name}[*] — {where} — Dia Studio")
        self.setWindowModified(self.session.dirty)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_projects()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_project(Path(p)))
        if not recent:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    # ================================================================================================ script
    def sync_script(self) -> None:
        """Parse the editor text into the project's lines now (normally after a short typing pause)."""
        self._sync_timer.stop()
        if self.session is not None:
            self.session.set_script(self.editor.toPlainText())

    def current_line_id(self) -> str | None:
        if self.session is None:
            return None
        self.sync_script()
        return self.session.line_for_block(self.editor.current_block_number())

    def _current_line_changed(self, block: int) -> None:
        if self.session is None:
            return
        if self._sync_timer.isActive():
            self.sync_script()
        line_id = self.session.line_for_block(block)
        if self.inspector is not None and line_id != self.inspector.line_id:
            self.inspector.set_line(line_id, self.editor.line_view(block))
        line = self.session.project.doc.line(line_id) if line_id else None
        self.timeline.show_line(line)
        clip = self.snapshot.clip_for(line_id) if (self.snapshot and line_id) else None
        if clip is not None and not self.player.is_playing:
            self.timeline.view.set_cursor(clip.start)
            self.timeline.ensure_visible(clip.start)

    def _project_changed(self) -> None:
        self._statuses = None
        self._lint_dirty = True
        self._inspector_dirty = True  # text, voices or sampling changed: the inspector shows all of them
        self._views_timer.start()

    def _timeline_changed(self) -> None:
        # While generating, takes arrive in bursts: rebuild the mix at most about once a second.
        self._mix_timer.setInterval(1000 if self.controller.busy else 120)
        if not self._mix_timer.isActive():
            self._mix_timer.start()

    def _line_changed(self, line_id: str) -> None:
        self._statuses = None
        self._views_timer.start()
        if self.inspector is not None and self.inspector.line_id == line_id:
            self.inspector.refresh()
        if self.session is not None and self.timeline.view.selected == line_id:
            self.timeline.show_line(self.session.project.doc.line(line_id))

    def refresh_views(self) -> None:
        """Recompute every line's gutter state from the project and the live generation state."""
        self._views_timer.stop()
        if self.session is None:
            self.editor.set_line_views({})
            self.checks.set_issues([])
            return
        project = self.session.project
        if self._statuses is None:
            self._statuses = self.session.statuses()
        statuses = self._statuses
        info = self.session.model_info
        views: dict[int, LineView] = {}
        blocker = self.generation_blocker()
        for line, parsed in zip(project.doc.lines, project.script.lines):
            status = statuses.get(line.id, LineStatus.MISSING)
            take = line.take(line.active_take) if status is not LineStatus.MISSING else None
            live = self.controller.live.get(line.id)
            detail = ""
            progress = None
            if live is not None:
                state, progress, detail = live.state, live.progress, live.error
                if live.state is LineState.QUEUED:
                    progress = None
            elif status is LineStatus.DONE:
                state = LineState.DONE
                detail = f"Take {take.id} (seed {take.seed}{', pinned' if line.pinned else ''})"
                check = self.take_checks.result(line.id, take.id)
                if check is not None and not check.passed:
                    state = LineState.CHECK_FAILED
                detail = "\n".join(filter(None, [detail, verdict_detail(check)]))
            elif status is LineStatus.STALE:
                state = LineState.STALE
            elif status is LineStatus.DAMAGED:  # shown as missing, with the reason (nothing was deleted)
                state = LineState.MISSING
                detail = f"Take {take.id} is damaged: {project.take_problem(line.id) or 'unreadable'}"
            else:
                state = LineState.MISSING
            if blocker and state in (LineState.MISSING, LineState.STALE):
                detail = f"Cannot generate: {blocker}"
            estimate = estimate_seconds(parsed.spoken_text, info) if info is not None else None
            views[parsed.source_line - 1] = LineView(state, parsed.speaker, estimate,
                                                     take.duration if take else None, progress, detail)
        self.editor.set_line_views(views)
        if self._lint_dirty:  # lint reads only the script and the voices: redo it when they changed
            self._lint_dirty = False
            self.checks.set_issues(project.lint(info))
        if self.inspector is not None:
            block = self.editor.current_block_number()
            line_id = self.session.line_for_block(block)
            self.inspector.blocked = self.generation_blocker()
            if line_id != self.inspector.line_id or self._inspector_dirty:
                self.inspector.set_line(line_id, views.get(block))
            else:
                self.inspector.set_view(views.get(block))
            self._inspector_dirty = False

    # ================================================================================================ generation
    def generation_blocker(self) -> str:
        """Why no line can be generated now ("" when they can). Every line is generated after both voices, so a
        clip the speaker card shows but the project cannot use yet blocks them all: never a silent other voice."""
        return self.speakers_panel.pending_reason() if self.speakers_panel is not None else ""

    def _pending_voices_changed(self) -> None:
        """A card now shows a clip the project cannot use yet: lines still queued would get another voice."""
        self._project_changed()
        blocker = self.generation_blocker()
        if blocker and self.controller.busy:
            self.controller.stop()
            self.statusBar().showMessage(f"Generation stopped (finished takes were kept): {blocker}.", 8000)

    def generate(self, line_ids: list[str], force: bool) -> list[str]:
        if self.session is None or not line_ids:
            return []
        blocker = self.generation_blocker()
        if blocker:
            self._error("Cannot generate yet", f"Nothing was generated: {blocker}.")
            self.statusBar().showMessage(f"Not generated: {blocker}.", 8000)
            return []
        self.sync_script()
        model = self.project_model()
        loaded = self.controller.engine_info
        if loaded is not None and loaded[0] != model and not self.controller.busy:
            self.controller.forget_engine()  # this project uses another model: load it on this Generate
        if not self.controller.busy:
            self._engine_model = model
        self.controller.clear_failures(line_ids)
        queued = self.controller.generate(self.session.project, line_ids, force)
        self.refresh_views()
        return queued

    def generate_current_line(self) -> None:
        line_id = self.current_line_id()
        if line_id is None:
            self.statusBar().showMessage("Put the cursor on a script line to generate it.", 4000)
            return
        self.generate([line_id], force=True)

    def generate_missing(self) -> None:
        if self.session is None:
            return
        self.sync_script()
        todo = self.session.project.lines_to_generate()
        if not todo:
            self.statusBar().showMessage("Every line is up to date.", 4000)
            return
        self.generate(todo, force=False)

    def stop_generation(self) -> None:
        if self.controller.busy:
            self.controller.stop()
            self.statusBar().showMessage("Stopping after the current step… finished takes stay.", 4000)

    def _take_arrived(self, line_id: str, take_id: str) -> None:
        if self.session is not None:
            self.session.take_added(line_id)

    def _line_failed(self, line_id: str, message: str) -> None:
        self.statusBar().showMessage(f"{line_id} failed: {message}", 8000)

    def _busy_changed(self, busy: bool) -> None:
        self.act_stop.setEnabled(busy)
        self.act_save_as.setEnabled(not busy)
        self.queue_bar.setVisible(busy)
        self.queue_label.setVisible(busy)
        if not busy:
            self.queue_bar.setValue(0)

    def _queue_progress(self, fraction: float, eta, done: int, total: int) -> None:
        self.queue_bar.setValue(int(fraction * 1000))
        self.queue_label.setText(f"{done}/{total} lines · {format_eta(eta)}")

    def _generation_finished(self, stopped: bool) -> None:
        self._statuses = None
        self._rebuild_mix()
        failed = [i for i, s in self.controller.live.items() if s.state is LineState.FAILED]
        if self._load_failed:
            self._load_failed = False
            message = "Nothing was generated: the model could not be loaded."
        elif stopped:
            message = "Generation stopped; finished takes were kept."
        elif failed:
            message = f"Generation finished; {len(failed)} line(s) failed (hover the red icons)."
        else:
            message = "Generation finished."
        self.statusBar().showMessage(message, 6000)
        self.refresh_views()

    # ----- engine loading -----------------------------------------------------------------------------------------
    def _show_engine_status(self) -> None:
        info = self.controller.engine_info
        if info is None:
            model = self.project_model()
            self.engine_label.setText(f"Model: {model_title(model)} (loads on first Generate)")
        else:
            model, device, dtype = info
            self.engine_label.setText(f"Model: {model_title(model)} · {device} · {dtype}")
        self.engine_label.setToolTip(model)

    def _engine_loading(self) -> None:
        dialog = ModelLoadDialog(self._engine_model, self.downloads, self)
        dialog.canceled.connect(self._cancel_loading)
        self._load_dialog = dialog
        self.engine_label.setText("Model: loading…")

    def _cancel_loading(self) -> None:
        self.controller.stop()
        if self._load_dialog is not None and self._load_dialog.downloading:
            message = ("Download cancelled: the queued lines were dropped. Finished files are kept; the next "
                       "Generate downloads only the rest.")
        else:
            message = ("Cancelled: the queued lines were dropped. The model finishes loading in the background "
                       "and is kept for the next Generate.")
        self.statusBar().showMessage(message, 8000)
        self._close_load_dialog()

    def _close_load_dialog(self) -> None:
        if self._load_dialog is not None:
            dialog, self._load_dialog = self._load_dialog, None
            dialog.canceled.disconnect()  # closing a QProgressDialog emits canceled: that is no Cancel
            dialog.close()
            dialog.deleteLater()

    def _engine_ready(self, *_info) -> None:
        self._close_load_dialog()
        self._show_engine_status()
        info = self.controller.model_info
        if info is not None:
            remember(info)
            if self.session is not None and self.session.model_info != info:
                self.session.model_info = info
                self._lint_dirty = True
                if self.inspector is not None:
                    self.inspector.model_info_changed()
                self._views_timer.start()

    def _engine_failed(self, message: str) -> None:
        self._load_failed = True  # the queue then drains as "stopped": say what really happened
        self._close_load_dialog()
        self._show_engine_status()
        if self.downloads.cancelled:  # the user stopped the download: not an error
            return
        self._error("The model could not be loaded",
                    f"{message}\n\nCheck the model and codec in Settings (Ctrl+,).")

    # ================================================================================================ takes
    def step_take(self, delta: int) -> None:
        line_id = self.current_line_id()
        if line_id is None:
            return
        line = self.session.project.line(line_id)
        ids = [t.id for t in line.takes]
        if not ids:
            return
        index = ids.index(line.active_take) if line.active_take in ids else len(ids) - 1
        new = max(0, min(len(ids) - 1, index + delta))
        if ids[new] != line.active_take:
            self.session.choose_take(line_id, ids[new])
            self.statusBar().showMessage(f"{line_id}: take {ids[new]} ({new + 1} of {len(ids)})", 3000)

    def keep_only_active(self, line_id: str) -> None:
        line = self.session.project.line(line_id)
        others = len(line.takes) - 1
        answer = QMessageBox.question(self, "Keep only the active take",
                                      f"Delete {others} other take(s) of {line_id} and their audio files? "
                                      "This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            removed = self.session.keep_only_active([line_id])
            self.statusBar().showMessage(f"Deleted {removed} take(s) of {line_id}.", 4000)

    def edit_sampling(self) -> None:
        if self.session is None:
            return
        dialog = ProjectSamplingDialog(self.session.project.sampling(), self.session.model_info, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                self.session.set_sampling(**dialog.form.values())
            except ValueError as e:
                self._error("Sampling", str(e))

    # ================================================================================================ playback
    def _play(self, audio: np.ndarray, rate: int, start: float = 0.0, tag=None) -> bool:
        if not self.player.available:
            self.statusBar().showMessage(self.player.unavailable_reason, 8000)
            return False
        if not self.player.play(audio, rate, start, tag):
            self.statusBar().showMessage(self.player.unavailable_reason, 8000)
            return False
        return True

    def toggle_playback(self) -> None:
        if self.player.is_playing:
            self.player.stop()
            return
        self.play_timeline(self.timeline.view.cursor_seconds)

    def play_timeline(self, start: float = 0.0) -> None:
        if self.snapshot is None or not len(self.snapshot.mix):
            self.statusBar().showMessage("Nothing to play yet: generate some lines first.", 4000)
            return
        if start >= self.snapshot.duration - 0.05:
            start = 0.0
        self._play(self.snapshot.mix, self.snapshot.sample_rate, start, ("timeline",))

    def _take_rate(self, line_id: str, take_id: str | None = None) -> int:
        """A take's sample rate (its model's: 44.1 kHz Dia 1.6B, 24 kHz Dia2)."""
        line = self.session.project.line(line_id)
        return take_rate(self.session.project.folder, line.take(take_id or line.active_take))

    def play_take(self, line_id: str, take_id: str | None = None) -> None:
        try:
            audio, rate = self.session.take_audio(line_id, take_id), self._take_rate(line_id, take_id)
        except (KeyError, ProjectError, OSError, RuntimeError) as e:
            self.statusBar().showMessage(str(e), 6000)
            return
        self._play(audio, rate, 0.0, ("take", line_id, take_id or self.session.project.line(line_id).active_take))

    def play_current_line(self) -> None:
        self._play_block(self.editor.current_block_number())

    def _play_block(self, block: int) -> None:
        if self.session is None:
            return
        self.sync_script()
        line_id = self.session.line_for_block(block)
        if line_id is None or self.session.project.line(line_id).active_take is None:
            self.statusBar().showMessage("This line has no take yet (Ctrl+Enter generates it).", 4000)
            return
        self.play_take(line_id)

    def compare_takes(self, line_id: str, take_a: str, take_b: str) -> None:
        try:
            a, b = self.session.take_audio(line_id, take_a), self.session.take_audio(line_id, take_b)
            rate, rate_b = self._take_rate(line_id, take_a), self._take_rate(line_id, take_b)
        except (KeyError, ProjectError, OSError, RuntimeError) as e:
            self.statusBar().showMessage(str(e), 6000)
            return
        b = resample(b, rate_b, rate)  # takes of two models (44.1 and 24 kHz) play at one rate
        pause = np.zeros(int(COMPARE_PAUSE_S * rate), np.float32)
        if self._play(np.concatenate([a, pause, b]), rate, 0.0, ("compare", line_id)):
            self.statusBar().showMessage(f"Comparing {take_a}, then {take_b}", 4000)

    def play_speaker_clip(self, speaker_id: str) -> None:
        card = self.speakers_panel.cards[speaker_id]
        if card.clip_audio is not None:  # played at the clip's own rate: the stream is opened for it
            if self.player.available and self.player.play(card.clip_audio, card.clip_rate, 0.0, ("clip", speaker_id)):
                return
            self.statusBar().showMessage(self.player.unavailable_reason, 8000)

    def _inspector_seek(self, seconds: float) -> None:
        line_id = self.inspector.line_id if self.inspector else None
        if line_id is None:
            return
        try:
            audio, rate = self.session.take_audio(line_id), self._take_rate(line_id)
        except (KeyError, ProjectError, OSError, RuntimeError):
            return
        self._play(audio, rate, seconds, ("take", line_id, self.session.project.line(line_id).active_take))

    def _playback_position(self, seconds: float) -> None:
        tag = self.player.tag or ()
        if tag and tag[0] == "timeline":
            self.timeline.view.set_playhead(seconds)
            self.timeline.ensure_visible(seconds)
            total = self.snapshot.duration if self.snapshot else 0.0
            self.transport_label.setText(f"{int(seconds // 60)}:{seconds % 60:04.1f} / {int(total // 60)}:"
                                         f"{total % 60:04.1f}")
        elif tag and tag[0] == "take" and self.inspector and self.inspector.line_id == tag[1]:
            self.inspector.set_playhead(seconds)

    def _playback_stopped(self, tag) -> None:
        self.timeline.view.set_playhead(None)
        if self.inspector is not None:
            self.inspector.set_playhead(None)

    # ================================================================================================ timeline
    def _rebuild_mix(self) -> None:
        self._mix_timer.stop()
        if self.session is not None:
            self.mix_builder.request(self.session.project)

    def _mix_ready(self, snap: MixSnapshot) -> None:
        self.snapshot = snap
        self.timeline.set_snapshot(snap)
        if self.session is not None:
            line_id = self.session.line_for_block(self.editor.current_block_number())
            self.timeline.show_line(self.session.project.doc.line(line_id) if line_id else None)
        total = snap.duration
        if not self.player.is_playing:
            self.transport_label.setText(f"{int(total // 60)}:{total % 60:04.1f}")

    def _mix_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Timeline: {message}", 8000)

    def _timeline_cursor_moved(self, seconds: float) -> None:
        if self.player.is_playing and (self.player.tag or ("",))[0] == "timeline":
            self.play_timeline(seconds)  # scrubbing while playing jumps there

    def _timeline_clip_selected(self, line_id: str) -> None:
        block = self.session.block_for_line(line_id) if self.session else None
        if block is not None and block != self.editor.current_block_number():
            self.editor.move_to_block(block)

    # ================================================================================================ misc
    def export(self) -> None:
        if self.session is None:
            return
        self.sync_script()
        missing = self.session.project.lines_to_generate()
        statuses = self.session.statuses()
        if any(statuses[i] is LineStatus.MISSING for i in missing):
            self._error("Export", "Some lines have no take yet. Generate them first (Ctrl+Shift+Enter).")
            return
        from gui.export_dialog import ExportDialog  # export pulls in scipy: not needed at start-up

        dialog = ExportDialog(self.session.project, self.settings.export(), self,
                              folder=default_export_folder(self.session.project, self.session.untitled))
        dialog.exported.connect(lambda _result: self._export_done(dialog))
        dialog.exec()

    def _export_done(self, dialog) -> None:
        """Remember the choices: the project's in the project (saved with it), the app's for new projects."""
        from gui.settings import ExportDefaults

        if self.session is not None:
            self.session.mark_dirty()
        self.settings.set_export(ExportDefaults(loudness_preset=dialog.preset(), format=dialog.options().format))

    def edit_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self, current_model=self.project_model())
        if dialog.exec() == QDialog.DialogCode.Accepted:
            if dialog.apply():
                self.controller.forget_engine()
                self.controller.worker.batch_size = self.settings.engine().batch_size
            self.use_model(self.settings.engine().model)
            self._autosave_timer.start(self.settings.autosave_seconds() * 1000)
            self._show_engine_status()

    def project_model(self) -> str:
        """The model the open project generates with: the one it records, else the settings' (new projects)."""
        recorded = self.session.project.doc.model if self.session is not None else None
        return recorded.model_id if recorded is not None else self.settings.engine().model

    def use_model(self, model_id: str) -> None:
        """Generate the open project with `model_id` from now on: its lines turn stale (their takes stay, each
        labelled with its model) and its sampling becomes that family's own (the other family's is kept)."""
        recorded = self.session.project.doc.model if self.session is not None else None
        if self.session is None or (recorded is not None and recorded.model_id == model_id):
            return
        info = local_model_info(model_id)
        self.session.project.set_model(model_id, self.settings.engine().dtype or "auto",
                                       family=info.family if info is not None else None)
        self.session.model_info = info
        self.session.mark_dirty()
        self._statuses = None
        self._lint_dirty = True
        if self.inspector is not None:
            self.inspector.model_info_changed()
        self._views_timer.start()

    def about(self) -> None:
        QMessageBox.about(self, "About Dia Studio",
                          "<h3>Dia Studio</h3><p>A script-to-dialogue editor built on Nari Labs' Dia "
                          "text-to-dialogue models (Dia 1.6B and Dia2).</p><p>Write a script with [S1]/[S2] turns, give "
                          "each speaker a voice, generate on your GPU, listen, regenerate single lines and export "
                          "the episode.</p>")

    def open_log_folder(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from gui.crash import log_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def _error(self, title: str, message: str) -> None:
        """A warning that does not block the event loop (generation and playback keep running)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_error = (title, message)

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self._release_session():
            e.ignore()
            return
        self.settings.set_window_state(self.saveGeometry(), self.saveState())
        self.shutdown()
        self.settings.mark_session_closed()
        e.accept()

    def shutdown(self) -> None:
        """End the background threads (worker, mix builder) and playback."""
        self.player.stop()
        self.live_view.player.stop()
        for timer in (self._autosave_timer, self._mix_timer, self._views_timer, self._sync_timer):
            timer.stop()
        self.controller.shutdown()
        self.take_checks.shutdown()
        self.mix_builder.shutdown()
