/**
 * `videochat completion bash|zsh|fish`: prints a completion script built from the program's
 * own commands and options, so that it can never drift from `--help`.
 */
import { UsageError } from '../../codec/errors.js';
import { buildProgram, type CommandContext, type RawOptions } from '../program.js';

interface Spec { name: string; description: string; options: string[] }

function commandSpecs(): Spec[] {
  const program = buildProgram(async () => 0, () => {}, {});
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    options: [...c.options.map((o) => o.long).filter((l): l is string => !!l), '--help'],
  }));
}

function bash(specs: Spec[]): string {
  const cases = specs
    .map((s) => `    ${s.name}) opts="${s.options.join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for videochat; load with: source <(videochat completion bash)
_videochat() {
  local cur cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${specs.map((s) => s.name).join(' ')} --help --version" -- "$cur") )
    return 0
  fi
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _videochat videochat
`;
}

function zsh(specs: Spec[]): string {
  const cmds = specs.map((s) => `    '${s.name}:${s.description.replace(/'/g, '')}'`).join('\n');
  const cases = specs
    .map((s) => `    ${s.name}) _arguments ${s.options.map((o) => `'${o}'`).join(' ')} '*:file:_files' ;;`)
    .join('\n');
  return `#compdef videochat
# zsh completion for videochat; load with: source <(videochat completion zsh)
_videochat() {
  local -a commands
  commands=(
${cmds}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "$words[2]" in
${cases}
  esac
}
compdef _videochat videochat
`;
}

function fish(specs: Spec[]): string {
  const lines = ['# fish completion for videochat; load with: videochat completion fish | source',
    'complete -c videochat -f'];
  for (const s of specs) {
    lines.push(`complete -c videochat -n '__fish_use_subcommand' -a ${s.name} -d '${s.description.replace(/'/g, '')}'`);
    for (const o of s.options) {
      lines.push(`complete -c videochat -n '__fish_seen_subcommand_from ${s.name}' -l ${o.replace(/^--/, '')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function run(args: string[], _options: RawOptions, ctx: CommandContext): Promise<number> {
  const shell = args[0];
  const specs = commandSpecs();
  if (shell === 'bash') ctx.stdout.write(bash(specs));
  else if (shell === 'zsh') ctx.stdout.write(zsh(specs));
  else if (shell === 'fish') ctx.stdout.write(fish(specs));
  else throw new UsageError(`completion: shell must be bash, zsh or fish, got '${shell ?? ''}'`);
  return 0;
}
