//! The terminal UI (ratatui over crossterm), with csysdig's keys:
//! arrows/PgUp/PgDn/Home/End move, Enter drills down, Backspace goes back,
//! F2 views, F4 (or `\`) filter, F5 (`e`) Echo, F6 (`d`) Dig, F7 legend,
//! F9 (or `>`) sort, `!@#$%^&*(` sort by column 1..9, F12 spectrogram,
//! `p` pause, `c`/DEL clear, F1/`h`/`?` help, `q`/F10 quit.
//!
//! Events are processed on the engine thread; the UI only draws the samples
//! it receives, so a slow terminal never holds events up.

use crate::engine::{self, Command, Options, Request, Update};
use crate::table::{Kind, Sample};
use crate::views::{self, ViewType};
use crate::{combine_filters, selection_filter, Error, Selection};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyModifiers};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph};
use ratatui::{Frame, Terminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

/// Lines an Echo/Dig window keeps.
const SPY_MAX_LINES: usize = 50_000;
/// Samples a spectrogram keeps.
const SPECTRO_MAX: usize = 200;

/// A level of the drill-down path.
#[derive(Debug, Clone)]
struct Level {
    /// The view left.
    view: usize,
    /// The row chosen there (none: the level was a view switch from a spy
    /// window or a spectrogram).
    selection: Option<Selection>,
    sort: Option<(usize, bool)>,
    manual_filter: String,
    selected_key: Option<String>,
}

/// A popup over the table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Popup {
    None,
    Views(usize),
    Sort(usize),
    Legend,
    Help,
    Filter(String),
    Search(String),
}

/// What the main area shows.
#[derive(Debug)]
enum Screen {
    Table,
    Spy {
        dig: bool,
        lines: Vec<String>,
        scroll: Option<usize>,
    },
}

/// The UI's state.
#[derive(Debug)]
struct App {
    live: bool,
    source: String,
    cmdline_filter: String,
    view: usize,
    path: Vec<Level>,
    sample: Option<Sample>,
    sort: Option<(usize, bool)>,
    selected: usize,
    selected_key: Option<String>,
    offset: usize,
    screen: Screen,
    popup: Popup,
    manual_filter: String,
    text_filter: String,
    seq: u64,
    status: String,
    paused: bool,
    ended: bool,
    spectro: Vec<Sample>,
    quit: bool,
}

/// Runs the UI until the user quits. The engine runs on its own thread.
///
/// # Errors
/// The terminal cannot be set up, or the starting view is unknown.
pub fn run(opts: Options, start_view: &str, stop: &Arc<AtomicBool>) -> Result<(), Error> {
    let view = views::index_of(start_view)
        .ok_or_else(|| Error::View(format!("unknown view {start_view}")))?;
    let (cmd_tx, cmd_rx) = mpsc::channel::<Command>();
    let (up_tx, up_rx) = mpsc::channel::<Update>();
    let live = opts.input == engine::Input::Live;
    let source = match &opts.input {
        engine::Input::Live => "Live System".to_owned(),
        engine::Input::File(p) => p.clone(),
    };
    let cmdline_filter = opts.filter.clone();
    let first = Request::View {
        view,
        filter: String::new(),
    };
    let engine_stop = Arc::clone(stop);
    let handle = std::thread::Builder::new()
        .name("osprey-top-events".into())
        .spawn(move || engine::run(&opts, first, false, &engine_stop, &cmd_rx, &up_tx))?;
    let mut app = App {
        live,
        source,
        cmdline_filter,
        view,
        path: Vec::new(),
        sample: None,
        sort: None,
        selected: 0,
        selected_key: None,
        offset: 0,
        screen: Screen::Table,
        popup: Popup::None,
        manual_filter: String::new(),
        text_filter: String::new(),
        seq: 0,
        status: String::new(),
        paused: false,
        ended: false,
        spectro: Vec::new(),
        quit: false,
    };
    let result = with_terminal(|term| app.event_loop(term, &cmd_tx, &up_rx, stop));
    let _ = cmd_tx.send(Command::Quit);
    stop.store(true, Ordering::Relaxed);
    let _ = handle.join();
    result
}

/// Restores the terminal: raw mode off, main screen back, cursor shown.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Sets the terminal up, runs `f`, and restores the terminal however `f`
/// ends (a panic included).
fn with_terminal<T>(
    f: impl FnOnce(&mut Terminal<CrosstermBackend<std::io::Stdout>>) -> Result<T, Error>,
) -> Result<T, Error> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    terminal::enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen)?;
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            restore();
        }
    }
    let _guard = Guard;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    term.clear()?;
    f(&mut term)
}

impl App {
    fn event_loop(
        &mut self,
        term: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
        commands: &Sender<Command>,
        updates: &Receiver<Update>,
        stop: &Arc<AtomicBool>,
    ) -> Result<(), Error> {
        let mut dirty = true;
        while !self.quit {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if dirty {
                term.draw(|f| self.draw(f))?;
                dirty = false;
            }
            if event::poll(Duration::from_millis(50))? {
                match event::read()? {
                    Event::Key(k) if k.kind != event::KeyEventKind::Release => {
                        self.key(k, commands);
                        dirty = true;
                    }
                    Event::Resize(..) => {
                        term.autoresize()?;
                        dirty = true;
                    }
                    _ => {}
                }
            }
            while let Ok(u) = updates.try_recv() {
                dirty |= self.update(u);
            }
        }
        Ok(())
    }

    /// Takes an update from the engine; whether the screen changes.
    fn update(&mut self, u: Update) -> bool {
        match u {
            Update::Sample { seq, sample } => {
                if seq != self.seq || self.paused {
                    return false;
                }
                if views::all()
                    .get(self.view)
                    .is_some_and(|v| v.view_type == ViewType::Spectrogram)
                {
                    self.spectro.push(sample.clone());
                    if self.spectro.len() > SPECTRO_MAX {
                        self.spectro.remove(0);
                    }
                }
                self.set_sample(sample);
                true
            }
            Update::Lines { seq, lines } => {
                if seq != self.seq || self.paused {
                    return false;
                }
                if let Screen::Spy { lines: l, .. } = &mut self.screen {
                    l.extend(lines);
                    if l.len() > SPY_MAX_LINES {
                        let cut = l.len() - SPY_MAX_LINES;
                        l.drain(..cut);
                    }
                }
                true
            }
            Update::Failed { seq, message } => {
                if seq == self.seq {
                    self.status = message;
                }
                true
            }
            Update::End => {
                self.ended = true;
                true
            }
            Update::Fatal(m) => {
                self.status = m;
                true
            }
        }
    }

    /// Shows a new sample, keeping the selection on the same key.
    fn set_sample(&mut self, mut sample: Sample) {
        if self.sort.is_none() {
            self.sort = sample
                .default_sort()
                .map(|c| (c, sample.default_ascending(c)));
        }
        if let Some((c, asc)) = self.sort {
            sample.sort(c, asc);
        }
        if !self.text_filter.is_empty() {
            let needle = self.text_filter.clone();
            let cols = std::sync::Arc::clone(&sample.columns);
            sample.rows.retain(|r| {
                r.cells.iter().zip(cols.iter()).any(|(f, c)| {
                    c.kind == Kind::Text
                        && matches!(&f.val, crate::table::Val::Text(t) if String::from_utf8_lossy(t).contains(&needle))
                })
            });
        }
        if let Some(k) = &self.selected_key {
            if let Some(i) = sample.rows.iter().position(|r| &r.key == k) {
                self.selected = i;
            }
        }
        if sample.is_list && self.live && self.selected_key.is_none() {
            self.selected = sample.rows.len().saturating_sub(1);
        }
        self.selected = self.selected.min(sample.rows.len().saturating_sub(1));
        self.sample = Some(sample);
    }

    fn rows_len(&self) -> usize {
        self.sample.as_ref().map_or(0, |s| s.rows.len())
    }

    /// The request of the current view and path.
    fn request(&self) -> Request {
        let sels: Vec<Selection> = self
            .path
            .iter()
            .filter_map(|l| l.selection.clone())
            .collect();
        Request::View {
            view: self.view,
            filter: combine_filters(&selection_filter(&sels), &self.manual_filter),
        }
    }

    fn send(&mut self, commands: &Sender<Command>, req: Request) {
        self.seq += 1;
        self.sample = None;
        self.ended = false;
        self.status.clear();
        let _ = commands.send(Command::Show(req));
    }

    /// Opens a view with the current path.
    fn show_view(&mut self, commands: &Sender<Command>) {
        self.screen = Screen::Table;
        self.spectro.clear();
        let req = self.request();
        self.send(commands, req);
    }

    /// The selected row's key, with the field it is a value of.
    fn selection(&self) -> Option<Selection> {
        let s = self.sample.as_ref()?;
        if s.key_field.is_empty() {
            return None;
        }
        let row = s.rows.get(self.selected)?;
        let v = views::all().get(self.view)?;
        Some(Selection {
            field: s.key_field.clone(),
            value: row.key.clone(),
            view_filter: if v.propagate_filter {
                v.filter.clone()
            } else {
                String::new()
            },
        })
    }

    fn push_level(&mut self, selection: Option<Selection>) {
        self.path.push(Level {
            view: self.view,
            selection,
            sort: self.sort,
            manual_filter: std::mem::take(&mut self.manual_filter),
            selected_key: self
                .sample
                .as_ref()
                .and_then(|s| s.rows.get(self.selected))
                .map(|r| r.key.clone()),
        });
        self.text_filter.clear();
        self.sort = None;
        self.selected = 0;
        self.selected_key = None;
        self.offset = 0;
    }

    /// Enter: the view the current one drills down to, on the selected row.
    fn drill_down(&mut self, commands: &Sender<Command>) {
        if !matches!(self.screen, Screen::Table) {
            return;
        }
        let Some(sel) = self.selection() else { return };
        let Some(v) = views::all().get(self.view) else {
            return;
        };
        let target = v
            .drilldown_target
            .as_deref()
            .and_then(views::index_of)
            .or_else(|| {
                views::all()
                    .iter()
                    .position(|w| w.applies_to.contains(&sel.field))
            });
        let Some(target) = target else { return };
        self.push_level(Some(sel));
        self.view = target;
        self.show_view(commands);
    }

    /// Backspace: back to where the last drill-down started.
    fn drill_up(&mut self, commands: &Sender<Command>) {
        let Some(level) = self.path.pop() else { return };
        self.view = level.view;
        self.sort = level.sort;
        self.manual_filter = level.manual_filter;
        self.selected_key = level.selected_key;
        self.selected = 0;
        self.offset = 0;
        self.show_view(commands);
    }

    /// F5/F6: Echo or Dig of the selection.
    fn spy(&mut self, commands: &Sender<Command>, dig: bool) {
        let sels: Vec<Selection> = self
            .path
            .iter()
            .filter_map(|l| l.selection.clone())
            .collect();
        let mut filter = selection_filter(&sels);
        if let Some(sel) = self.selection() {
            filter = combine_filters(&filter, &selection_filter(std::slice::from_ref(&sel)));
            self.push_level(Some(sel));
        } else {
            self.push_level(None);
        }
        self.screen = Screen::Spy {
            dig,
            lines: Vec::new(),
            scroll: None,
        };
        self.send(commands, Request::Spy { filter, dig });
    }

    /// F12: the spectrogram of the selection.
    fn spectrogram(&mut self, commands: &Sender<Command>, files: bool) {
        let id = if files { "spectro_file" } else { "spectro_all" };
        let Some(target) = views::index_of(id) else {
            return;
        };
        let sel = self.selection();
        self.push_level(sel);
        self.view = target;
        self.show_view(commands);
    }

    /// The views F2 offers: those that apply to the current drill-down field.
    fn view_choices(&self) -> Vec<usize> {
        let field = self
            .path
            .iter()
            .rev()
            .find_map(|l| l.selection.as_ref())
            .map_or("", |s| s.field.as_str());
        views::all()
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.hidden_in_ui() && v.applies_to.iter().any(|a| a == field))
            .map(|(i, _)| i)
            .collect()
    }

    fn move_sel(&mut self, delta: isize) {
        let n = self.rows_len();
        if n == 0 {
            return;
        }
        let cur = isize::try_from(self.selected).unwrap_or(0);
        let max = isize::try_from(n - 1).unwrap_or(0);
        self.selected = usize::try_from((cur + delta).clamp(0, max)).unwrap_or(0);
        self.selected_key = self
            .sample
            .as_ref()
            .and_then(|s| s.rows.get(self.selected))
            .map(|r| r.key.clone());
    }

    fn resort(&mut self, col: usize) {
        let Some(s) = self.sample.as_ref() else {
            return;
        };
        if col >= s.columns.len() {
            return;
        }
        let asc = match self.sort {
            Some((c, a)) if c == col => !a,
            _ => s.default_ascending(col),
        };
        self.sort = Some((col, asc));
        if let Some(mut s) = self.sample.take() {
            s.sort(col, asc);
            self.sample = Some(s);
        }
    }

    #[allow(clippy::too_many_lines)]
    fn key(&mut self, k: KeyEvent, commands: &Sender<Command>) {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        // Popups take the keys first.
        match self.popup.clone() {
            Popup::Views(sel) => {
                let choices = self.view_choices();
                match k.code {
                    KeyCode::Up => self.popup = Popup::Views(sel.saturating_sub(1)),
                    KeyCode::Home => self.popup = Popup::Views(0),
                    KeyCode::End => self.popup = Popup::Views(choices.len().saturating_sub(1)),
                    KeyCode::Down => {
                        self.popup = Popup::Views((sel + 1).min(choices.len().saturating_sub(1)));
                    }
                    KeyCode::Enter => {
                        self.popup = Popup::None;
                        if let Some(&v) = choices.get(sel) {
                            // Backspace comes back to the view left.
                            self.push_level(None);
                            self.view = v;
                            self.show_view(commands);
                        }
                    }
                    KeyCode::Esc | KeyCode::F(2) | KeyCode::Backspace => self.popup = Popup::None,
                    KeyCode::Char('q') => self.quit = true,
                    _ => {}
                }
                return;
            }
            Popup::Sort(sel) => {
                let n = self.sample.as_ref().map_or(0, |s| s.columns.len());
                match k.code {
                    KeyCode::Up => self.popup = Popup::Sort(sel.saturating_sub(1)),
                    KeyCode::Down => self.popup = Popup::Sort((sel + 1).min(n.saturating_sub(1))),
                    KeyCode::Enter => {
                        self.popup = Popup::None;
                        self.resort(sel);
                    }
                    KeyCode::Esc | KeyCode::F(9) | KeyCode::Backspace => self.popup = Popup::None,
                    _ => {}
                }
                return;
            }
            Popup::Filter(mut text) => {
                match k.code {
                    KeyCode::Enter => {
                        self.popup = Popup::None;
                        self.apply_filter(&text, commands);
                    }
                    KeyCode::Esc => self.popup = Popup::None,
                    KeyCode::Backspace => {
                        text.pop();
                        self.popup = Popup::Filter(text);
                    }
                    KeyCode::Char(c) => {
                        text.push(c);
                        self.popup = Popup::Filter(text);
                    }
                    _ => {}
                }
                return;
            }
            Popup::Search(mut text) => {
                match k.code {
                    KeyCode::Enter => {
                        self.popup = Popup::None;
                        self.search(&text);
                    }
                    KeyCode::Esc => self.popup = Popup::None,
                    KeyCode::Backspace => {
                        text.pop();
                        self.popup = Popup::Search(text);
                    }
                    KeyCode::Char(c) => {
                        text.push(c);
                        self.popup = Popup::Search(text);
                    }
                    _ => {}
                }
                return;
            }
            Popup::Legend | Popup::Help => {
                if k.code == KeyCode::Char('q') {
                    self.quit = true;
                }
                self.popup = Popup::None;
                return;
            }
            Popup::None => {}
        }
        if let Screen::Spy { scroll, lines, .. } = &mut self.screen {
            let n = lines.len();
            match k.code {
                KeyCode::Up => *scroll = Some(scroll.unwrap_or(n).saturating_sub(1)),
                KeyCode::PageUp => *scroll = Some(scroll.unwrap_or(n).saturating_sub(20)),
                KeyCode::Down | KeyCode::PageDown => {
                    let step = if k.code == KeyCode::Down { 1 } else { 20 };
                    let next = scroll.map(|s| s + step);
                    *scroll = next.filter(|&s| s < n);
                }
                KeyCode::End => *scroll = None,
                KeyCode::Home => *scroll = Some(0),
                KeyCode::Char('c') | KeyCode::Delete => lines.clear(),
                KeyCode::Char('p') => self.paused = !self.paused,
                KeyCode::Backspace | KeyCode::Esc => self.drill_up(commands),
                KeyCode::Char('q') | KeyCode::F(10) => self.quit = true,
                _ => {}
            }
            return;
        }
        let page = 20;
        match k.code {
            KeyCode::Char('q') | KeyCode::F(10) => self.quit = true,
            KeyCode::Up => self.move_sel(-1),
            KeyCode::Down => self.move_sel(1),
            KeyCode::PageUp => self.move_sel(-page),
            KeyCode::PageDown => self.move_sel(page),
            KeyCode::Home => self.move_sel(isize::MIN / 2),
            KeyCode::End => self.move_sel(isize::MAX / 2),
            KeyCode::Enter => self.drill_down(commands),
            KeyCode::Backspace => self.drill_up(commands),
            KeyCode::F(2) => {
                let cur = self
                    .view_choices()
                    .iter()
                    .position(|&v| v == self.view)
                    .unwrap_or(0);
                self.popup = Popup::Views(cur);
            }
            KeyCode::F(4) | KeyCode::Char('\\') => {
                self.popup = Popup::Filter(self.manual_filter.clone());
            }
            KeyCode::F(5) | KeyCode::Char('e') => self.spy(commands, false),
            KeyCode::F(6) | KeyCode::Char('d') => self.spy(commands, true),
            KeyCode::F(7) => self.popup = Popup::Legend,
            KeyCode::Char('/') => self.popup = Popup::Search(String::new()),
            KeyCode::Char('f') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.popup = Popup::Search(String::new());
            }
            KeyCode::F(9) | KeyCode::Char('>') => {
                self.popup = Popup::Sort(self.sort.map_or(0, |s| s.0));
            }
            KeyCode::F(12) => self.spectrogram(commands, k.modifiers.contains(KeyModifiers::SHIFT)),
            KeyCode::F(1) | KeyCode::Char('h' | '?') => self.popup = Popup::Help,
            KeyCode::Char('p') => self.paused = !self.paused,
            KeyCode::Char('c') | KeyCode::Delete => {
                let _ = commands.send(Command::Clear);
                if let Some(s) = self.sample.as_mut() {
                    if s.is_list {
                        s.rows.clear();
                    }
                }
            }
            KeyCode::Char(c) => {
                if let Some(n) = "!@#$%^&*(".chars().position(|x| x == c) {
                    self.resort(n);
                }
            }
            _ => {}
        }
    }

    /// `/`, CTRL+F: selects the first row with a text cell containing `text`.
    fn search(&mut self, text: &str) {
        let Some(s) = self.sample.as_ref() else {
            return;
        };
        let found = s.rows.iter().position(|r| {
            r.cells.iter().any(|f| {
                matches!(&f.val, crate::table::Val::Text(t) if String::from_utf8_lossy(t).contains(text))
            })
        });
        if let Some(i) = found {
            self.selected = i;
            self.selected_key = Some(s.rows[i].key.clone());
        } else {
            self.status = format!("not found: {text}");
        }
    }

    /// F4: a filter that compiles is a sysdig filter (the view restarts);
    /// other text filters the rows shown.
    fn apply_filter(&mut self, text: &str, commands: &Sender<Command>) {
        let text = text.trim();
        if text.is_empty()
            || osprey_filter::Filter::compile(text, &osprey_filter::fields::catalog::SyscallCatalog)
                .is_ok()
        {
            self.text_filter.clear();
            self.manual_filter = text.to_owned();
            self.show_view(commands);
        } else {
            self.text_filter = text.to_owned();
            if let Some(s) = self.sample.take() {
                self.set_sample(s);
            }
        }
    }

    fn draw(&mut self, f: &mut Frame<'_>) {
        let area = f.area();
        if area.height < 4 {
            return;
        }
        let v = views::all().get(self.view);
        let view_name = v.map_or("", |v| v.name.as_str());
        let for_what = {
            let sels: Vec<String> = self
                .path
                .iter()
                .filter_map(|l| l.selection.as_ref())
                .map(|s| format!("{}={}", s.field, s.value))
                .collect();
            if sels.is_empty() {
                "whole machine".to_owned()
            } else {
                sels.join(" -> ")
            }
        };
        let mut state = String::new();
        if self.paused {
            state.push_str(" PAUSED");
        }
        if self.ended {
            state.push_str(" (end of file)");
        }
        let title = match &self.screen {
            Screen::Table => format!("Viewing: {view_name} For: {for_what}{state}"),
            Screen::Spy { dig, .. } => {
                format!("{} For: {for_what}", if *dig { "Dig" } else { "Echo" })
            }
        };
        let filter = match &self.screen {
            Screen::Table => v.map_or(String::new(), |v| {
                let sels: Vec<Selection> = self
                    .path
                    .iter()
                    .filter_map(|l| l.selection.clone())
                    .collect();
                engine::view_filter(
                    &self.cmdline_filter,
                    &combine_filters(&selection_filter(&sels), &self.manual_filter),
                    v,
                )
            }),
            Screen::Spy { .. } => String::new(),
        };
        let header = vec![
            Line::from(Span::styled(
                title,
                Style::default().fg(Color::Black).bg(Color::Cyan),
            )),
            Line::from(format!("Source: {}  Filter: {}", self.source, filter)),
        ];
        f.render_widget(Paragraph::new(header), Rect::new(0, 0, area.width, 2));
        let body = Rect::new(0, 2, area.width, area.height.saturating_sub(3));
        match &self.screen {
            Screen::Table => {
                if v.is_some_and(|v| v.view_type == ViewType::Spectrogram) {
                    self.draw_spectro(f, body);
                } else {
                    self.draw_table(f, body);
                }
            }
            Screen::Spy { lines, scroll, .. } => {
                let h = usize::from(body.height);
                let end = scroll.map_or(lines.len(), |s| (s + 1).min(lines.len()));
                let start = end.saturating_sub(h);
                let shown: Vec<Line<'_>> = lines[start..end]
                    .iter()
                    .map(|l| Line::from(l.as_str()))
                    .collect();
                f.render_widget(Paragraph::new(shown), body);
            }
        }
        let menu = [
            ("F1", "Help"),
            ("F2", "Views"),
            ("F4", "Filter"),
            ("F5", "Echo"),
            ("F6", "Dig"),
            ("F7", "Legend"),
            ("F9", "Sort"),
            ("F12", "Spectro"),
            ("p", "Pause"),
            ("c", "Clear"),
            ("q", "Quit"),
        ];
        let mut spans = Vec::new();
        for (k, d) in menu {
            spans.push(Span::styled(
                k,
                Style::default().add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(
                d,
                Style::default().fg(Color::Black).bg(Color::Cyan),
            ));
        }
        if !self.status.is_empty() {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                self.status.clone(),
                Style::default().fg(Color::Red),
            ));
        }
        f.render_widget(
            Paragraph::new(Line::from(spans)),
            Rect::new(0, area.height - 1, area.width, 1),
        );
        self.draw_popup(f, area);
    }

    fn draw_table(&mut self, f: &mut Frame<'_>, body: Rect) {
        let Some(s) = self.sample.as_ref() else {
            f.render_widget(Paragraph::new("Loading..."), body);
            return;
        };
        let width = usize::from(body.width);
        let mut head = String::new();
        for (i, c) in s.columns.iter().enumerate() {
            let w = usize::from(c.size);
            let mut name = c.name.clone();
            if self.sort.is_some_and(|(sc, _)| sc == i) {
                name.push(if self.sort.is_some_and(|(_, a)| a) {
                    '^'
                } else {
                    'v'
                });
            }
            if w == 0 {
                head.push_str(&name);
            } else {
                push_cell(&mut head, &name, w, c.kind != Kind::Text);
            }
        }
        let h = usize::from(body.height.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if h > 0 && self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        let mut lines = vec![Line::from(Span::styled(
            pad(&head, width),
            Style::default().fg(Color::Black).bg(Color::Green),
        ))];
        for (i, row) in s.rows.iter().enumerate().skip(self.offset).take(h) {
            let mut text = String::new();
            for (j, c) in s.columns.iter().enumerate() {
                let cell = row
                    .cells
                    .get(j)
                    .map(|fl| s.cell_text(j, fl))
                    .unwrap_or_default();
                let w = usize::from(c.size);
                if w == 0 {
                    text.push_str(&cell);
                } else {
                    push_cell(&mut text, &cell, w, c.kind != Kind::Text);
                }
            }
            let style = if i == self.selected {
                Style::default().fg(Color::Black).bg(Color::Yellow)
            } else {
                Style::default()
            };
            lines.push(Line::from(Span::styled(pad(&text, width), style)));
        }
        f.render_widget(Paragraph::new(lines), body);
    }

    fn draw_spectro(&self, f: &mut Frame<'_>, body: Rect) {
        // Columns are latency buckets (evt.latency.quantized: 10 per decade,
        // from 1 ns to 10 s), rows are intervals, newest at the bottom.
        let width = usize::from(body.width);
        let mut lines = vec![Line::from(pad(
            "1ns       10ns      100ns     1us       10us      100us     1ms       10ms      100ms     1s",
            width,
        ))];
        let h = usize::from(body.height.saturating_sub(1));
        let start = self.spectro.len().saturating_sub(h);
        let shades = [' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
        for s in &self.spectro[start..] {
            let mut buckets = vec![0u64; width];
            for r in &s.rows {
                let Ok(b) = r.key.parse::<usize>() else {
                    continue;
                };
                if b < width {
                    if let Some(crate::table::Field {
                        val: crate::table::Val::Uint(n),
                        ..
                    }) = r.cells.first()
                    {
                        buckets[b] += n;
                    }
                }
            }
            let line: String = buckets
                .iter()
                .map(|&n| {
                    if n == 0 {
                        ' '
                    } else {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        let level = ((n as f64).log2() as usize + 1).min(shades.len() - 1);
                        shades[level]
                    }
                })
                .collect();
            lines.push(Line::from(line));
        }
        f.render_widget(Paragraph::new(lines), body);
    }

    fn draw_popup(&self, f: &mut Frame<'_>, area: Rect) {
        let rect = |w: u16, h: u16| {
            let w = w.min(area.width);
            let h = h.min(area.height);
            Rect::new((area.width - w) / 2, (area.height - h) / 2, w, h)
        };
        match &self.popup {
            Popup::None => {}
            Popup::Views(sel) => {
                let items: Vec<ListItem<'_>> = self
                    .view_choices()
                    .iter()
                    .filter_map(|&i| views::all().get(i))
                    .map(|v| ListItem::new(v.name.clone()))
                    .collect();
                let r = rect(40, area.height.saturating_sub(4));
                let mut st = ListState::default();
                st.select(Some(*sel));
                f.render_widget(Clear, r);
                f.render_stateful_widget(
                    List::new(items)
                        .block(Block::default().borders(Borders::ALL).title("Select View"))
                        .highlight_style(Style::default().fg(Color::Black).bg(Color::Yellow)),
                    r,
                    &mut st,
                );
            }
            Popup::Sort(sel) => {
                let items: Vec<ListItem<'_>> = self
                    .sample
                    .as_ref()
                    .map(|s| {
                        s.columns
                            .iter()
                            .map(|c| ListItem::new(c.name.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let r = rect(30, area.height.saturating_sub(4));
                let mut st = ListState::default();
                st.select(Some(*sel));
                f.render_widget(Clear, r);
                f.render_stateful_widget(
                    List::new(items)
                        .block(Block::default().borders(Borders::ALL).title("Sort by"))
                        .highlight_style(Style::default().fg(Color::Black).bg(Color::Yellow)),
                    r,
                    &mut st,
                );
            }
            Popup::Search(text) => {
                let r = rect(area.width.saturating_sub(4), 3);
                f.render_widget(Clear, r);
                f.render_widget(
                    Paragraph::new(format!("{text}_"))
                        .block(Block::default().borders(Borders::ALL).title("Search")),
                    r,
                );
            }
            Popup::Filter(text) => {
                let r = rect(area.width.saturating_sub(4), 3);
                f.render_widget(Clear, r);
                f.render_widget(
                    Paragraph::new(format!("{text}_")).block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title("Filter (sysdig filter or text)"),
                    ),
                    r,
                );
            }
            Popup::Legend => {
                let mut lines = Vec::new();
                if let Some(v) = views::all().get(self.view) {
                    lines.push(Line::from(format!("{} ({})", v.name, v.id)));
                    lines.push(Line::from(format!("Filter: {}", v.filter)));
                    if let Some(t) = &v.drilldown_target {
                        lines.push(Line::from(format!("Drill down: {t}")));
                    }
                    lines.push(Line::from(""));
                    for c in v.columns_for(false).filter(|c| c.name != "NA") {
                        let desc = osprey_filter::fields::catalog::by_name(
                            c.field.split('[').next().unwrap_or_default(),
                        )
                        .map_or("", |d| d.desc);
                        lines.push(Line::from(format!(
                            "{:<12} {:<24} {:?}/{:?} {}",
                            c.name, c.field, c.aggregation, c.groupby_aggregation, desc
                        )));
                    }
                }
                let r = rect(area.width.saturating_sub(2), area.height.saturating_sub(2));
                f.render_widget(Clear, r);
                f.render_widget(
                    Paragraph::new(lines)
                        .block(Block::default().borders(Borders::ALL).title("Legend")),
                    r,
                );
            }
            Popup::Help => {
                let text = [
                    "Arrows, PgUp/PgDn, Home/End: move",
                    "Enter: drill down    Backspace: back",
                    "F2: views    F4 or \\: filter    F5 or e: echo    F6 or d: dig",
                    "F7: legend   F9 or >: sort   !@#$%^&*(: sort by column 1-9",
                    "/ or CTRL+F: search",
                    "F12: spectrogram (Shift+F12: file I/O only)",
                    "p: pause   c or Del: clear a list   q or F10: quit",
                ];
                let r = rect(70, 9);
                f.render_widget(Clear, r);
                f.render_widget(
                    Paragraph::new(text.iter().map(|t| Line::from(*t)).collect::<Vec<_>>())
                        .block(Block::default().borders(Borders::ALL).title("Help")),
                    r,
                );
            }
        }
    }
}

/// Appends a cell in a column of `w` characters: numbers right-aligned in
/// `w - 1` and a space, text cut to `w - 1` and padded.
fn push_cell(out: &mut String, cell: &str, w: usize, right: bool) {
    let inner = w.saturating_sub(1);
    let cut: String = cell.chars().take(inner).collect();
    let n = cut.chars().count();
    if right {
        out.extend(std::iter::repeat_n(' ', inner - n));
        out.push_str(&cut);
    } else {
        out.push_str(&cut);
        out.extend(std::iter::repeat_n(' ', inner - n));
    }
    out.push(' ');
}

/// Pads or cuts a line to the screen width.
fn pad(s: &str, width: usize) -> String {
    let mut out: String = s.chars().take(width).collect();
    let n = out.chars().count();
    out.extend(std::iter::repeat_n(' ', width - n));
    out
}
