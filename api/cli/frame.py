"""The command line's frame in Chinese: usage line, panel titles, `--help`, and the parser's errors.

Why this way and not a gettext catalogue. Click marks its texts for gettext, but Typer (≥ 0.20, the
version installed here is 0.29) carries its own copy of Click (`typer._click`) in which "Usage: ",
"Show this message and exit.", "Missing argument 'X'.", "No such option: --x" … are plain English
f-strings: a translation installed for the `messages` domain would reach only Typer's few
remaining `_()` calls (typer.core, evaluated in the non-rich path) and the module constants of
typer.rich_utils, which are read once at import. So the frame is owned here, through what Typer
does offer:

- the rich help's module constants (typer.rich_utils: ARGUMENTS_PANEL_TITLE, OPTIONS_PANEL_TITLE,
  COMMANDS_PANEL_TITLE, ERRORS_PANEL_TITLE, RICH_HELP, REQUIRED_LONG_STRING, DEFAULT_STRING …),
  which Typer reads each time it prints, are set to Chinese (`install_panel_texts`);
- the application's root group class (`ChineseGroup`, the `cls` of api.cli.app.app, a Typer
  hook) gives every command of the tree, whichever module registered it, Chinese metavars and a
  context class (`ChineseContext`) whose formatter writes 用法： and whose `--help` says
  显示此帮助并退出 — so api/cli/audit.py, evaluation.py and any later module need no edit;
- the same class turns the parser's errors (UsageError and its kinds) into Chinese by their
  type and fields (the parameter, the option name) before Typer prints them; a message raised by
  our own code in Chinese is kept as it is.

Parameter types in the help (<int>, <str>) stay as Typer prints them: they name Python types.
"""

from __future__ import annotations

import re
from typing import Any

import typer
import typer.rich_utils as rich_utils
from typer import _click
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

USAGE_PREFIX = "用法："
HELP_TEXT = "显示此帮助并退出。"
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."
# Help of the options Typer adds itself (shell completion), by option name.
OPTION_HELP = {
    "--install-completion": "为当前 shell 安装命令补全。",
    "--show-completion": "显示当前 shell 的命令补全脚本，可复制或自行安装。",
}
PANEL_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "用 [blue]'{command_path} {help_option}'[/] 查看帮助。",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "DEPRECATED_STRING": "（已停用）",
}
PARAM_KINDS = {"argument": "参数", "option": "选项", "parameter": "参数"}

# English value messages of the type conversion (pydantic and Typer's own), as Chinese.
VALUE_MESSAGES = [
    (re.compile(r"Input should be a valid integer.*"), "应为整数"),
    (re.compile(r"Input should be a valid (number|float).*"), "应为数字"),
    (re.compile(r"Input should be a valid boolean.*"), "应为 true/false、yes/no 或 1/0"),
    (re.compile(r"Input should be (?:a valid date|a valid datetime).*"), "应为日期时间，如 2026-09-30T10:00"),
    (re.compile(r"Input should be greater than or equal to (\S+)"), r"应不小于 \1"),
    (re.compile(r"Input should be greater than (\S+)"), r"应大于 \1"),
    (re.compile(r"Input should be less than or equal to (\S+)"), r"应不大于 \1"),
    (re.compile(r"Input should be less than (\S+)"), r"应小于 \1"),
    (re.compile(r"Input should be (.+)"), r"应为 \1"),
    (re.compile(r"(.+) is not one of (.+?)\.?$"), r"\1 不是可选值之一：\2"),
    (re.compile(r"(?:File|Directory|Path) '(.+)' does not exist\.?"), r"找不到 '\1'"),
    (re.compile(r"(?:File|Directory|Path) '(.+)' is a directory\.?"), r"'\1' 是目录，应为文件"),
    (re.compile(r"(?:File|Directory|Path) '(.+)' is a file\.?"), r"'\1' 是文件，应为目录"),
    (re.compile(r"(?:File|Directory|Path) '(.+)' is not readable\.?"), r"'\1' 不可读"),
    (re.compile(r"(?:File|Directory|Path) '(.+)' is not writable\.?"), r"'\1' 不可写"),
    (re.compile(r"Value (.+) is not a valid (.+?)\.?$"), r"\1 不是有效的 \2"),
]
# Errors Typer raises as a plain UsageError, known only by their text.
USAGE_MESSAGES = [
    (re.compile(r"Missing command\.?"), "缺少命令。"),
    (re.compile(r"No such command '(.+?)'\. Did you mean (.+)\?"), r"没有命令 '\1'。是不是要用 \2？"),
    (re.compile(r"No such command '(.+?)'\.?"), r"没有命令 '\1'。"),
    (re.compile(r"Got unexpected extra arguments? \((.*)\)"), r"多余的参数：\1"),
]


def install_panel_texts() -> None:
    """Typer's rich help and error panels in Chinese (it reads these module constants each time)."""
    for name, text in PANEL_TEXTS.items():
        setattr(rich_utils, name, text)


def _hints(hint: Any) -> str:
    return hint if isinstance(hint, str) else " / ".join(repr(x) for x in hint)


def _value_message(message: str) -> str:
    for pattern, chinese in VALUE_MESSAGES:
        if pattern.fullmatch(message.strip()):
            return pattern.sub(chinese, message.strip())
    return message


def chinese_message(error: click_errors.UsageError) -> str:
    """The error's message in Chinese, built from its type and fields where it has them."""
    if isinstance(error, click_errors.MissingParameter):
        param = error.param
        kind = PARAM_KINDS.get(error.param_type or (param.param_type_name if param else ""), "参数")
        hint = _hints(error.param_hint) if error.param_hint is not None else (
            param.get_error_hint() if param is not None else "")
        text = f"缺少{kind} {hint}。" if hint else f"缺少{kind}。"
        choices = getattr(getattr(param, "type_descriptor", None), "choices", None) if param else None
        return text + (f"可选：{'、'.join(str(c) for c in choices)}" if choices else "")
    if isinstance(error, click_errors.NoSuchOption):
        text = f"没有这个选项：{error.option_name}"
        if error.possibilities:
            text += f"（是不是要用：{'、'.join(sorted(error.possibilities))}）"
        return text
    if isinstance(error, click_errors.BadOptionUsage):
        if "does not take a value" in error.message:
            return f"选项 {error.option_name} 不接受值"
        if "requires" in error.message:
            return f"选项 {error.option_name} 需要给出值"
        return error.message
    if isinstance(error, click_errors.BadParameter):
        if error.param_hint is not None:
            hint = _hints(error.param_hint)
        elif error.param is not None:
            hint = error.param.get_error_hint()
        else:
            return f"值无效：{_value_message(error.message)}"
        return f"{hint} 的值无效：{_value_message(error.message)}"
    for pattern, chinese in USAGE_MESSAGES:
        if pattern.fullmatch(error.message):
            return pattern.sub(chinese, error.message)
    return error.message


class ChineseUsageError(click_errors.UsageError):
    """A usage error whose message is Chinese already (printed by Typer with the usage line)."""

    def __init__(self, message: str, ctx: Any, exit_code: int) -> None:
        super().__init__(message, ctx)
        self.exit_code = exit_code


def translated(error: click_errors.UsageError) -> click_errors.UsageError:
    if isinstance(error, ChineseUsageError | click_errors.NoArgsIsHelpError):
        return error  # translated already, or the help itself
    return ChineseUsageError(chinese_message(error), error.ctx, error.exit_code)


class ChineseFormatter(_click.HelpFormatter):
    """Writes the usage line as 用法：dutyflow … ."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, USAGE_PREFIX if prefix is None else prefix)


class ChineseContext(typer.Context):
    """The context of every command: Chinese usage line, and Chinese help for --help and the
    options Typer adds (created lazily by the command, so set when its context is made)."""

    formatter_class = ChineseFormatter

    def __init__(self, command: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(command, *args, **kwargs)
        help_option = command.get_help_option(self)
        if help_option is not None:
            help_option.help = HELP_TEXT
        for param in command.params:
            for name in param.opts:
                if name in OPTION_HELP:
                    param.help = OPTION_HELP[name]


def _chinese_tree(command: Any) -> None:
    """Every command below the root: the Chinese context class and metavars (attributes Click
    reads from the command object: context_class, options_metavar, subcommand_metavar)."""
    command.context_class = ChineseContext
    if command.options_metavar == "[OPTIONS]":
        command.options_metavar = OPTIONS_METAVAR
    if isinstance(command, TyperGroup):
        if command.subcommand_metavar == "COMMAND [ARGS]...":
            command.subcommand_metavar = SUBCOMMAND_METAVAR
        for sub in command.commands.values():
            _chinese_tree(sub)


class ChineseGroup(TyperGroup):
    """The root group (`typer.Typer(cls=ChineseGroup)`): the whole tree speaks Chinese, and the
    parser's errors — raised while the root or any subcommand reads its arguments — are turned
    into Chinese before Typer prints them."""

    context_class = ChineseContext

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _chinese_tree(self)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click_errors.UsageError as error:
            raise translated(error) from error

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except click_errors.UsageError as error:
            raise translated(error) from error


install_panel_texts()
