import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../input/errors.ts';
import { installRoot } from '../input/install-root.ts';
import { availableRoles } from '../role/load.ts';
import { optionNames } from './options.ts';

const words = (list: string[]): string => [...new Set(list)].sort().join(' ');

/**
 * `play completion bash|zsh`: a completion script for the shell, to source from its rc file. It
 * knows play's own options, subcommands, playbooks and roles; the current directory's playbooks/
 * and roles/ are read as the user types, so their own are offered too.
 */
export function completion(argv: string[], print: (s: string) => void): void {
  const shell = argv[0];
  if (shell !== 'bash' && shell !== 'zsh')
    throw new UsageError(
      'play completion expects bash or zsh, e.g. `source <(npx play completion bash)`',
      'play --help',
    );
  const playbooks = readdirSync(join(installRoot, 'playbooks')).filter((f) => /\.ya?ml$/.test(f));
  const roles = availableRoles([join(installRoot, 'roles')]).filter((r) => !r.startsWith('_'));
  const script = `# play's completion for ${shell}: source <(npx play completion ${shell})
_play() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" sub="\${COMP_WORDS[1]}" opts
  case "$prev" in
    -i|--inventory) COMPREPLY=($(compgen -d -- "$cur") $(cd inventory 2>/dev/null && compgen -d -- "$cur")); return ;;
    --role) COMPREPLY=($(compgen -W "${words(roles)} $(cd roles 2>/dev/null && compgen -d)" -- "$cur" | sort -u)); return ;;
    --become-method) COMPREPLY=($(compgen -W "sudo su" -- "$cur")); return ;;
    --mode) COMPREPLY=($(compgen -W "bgp layer2" -- "$cur")); return ;;
    -e|--extra-vars|--json|--private-key|--key-file|--vault-password-file|--vault-pass-file|-o|--output|--roles-path)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$sub" in
    doctor) opts="${words(optionNames('doctor'))}" ;;
    kubeconfig) opts="${words(optionNames('kubeconfig'))}" ;;
    init) opts="--mode --user --help" ;;
    completion) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
    *) opts="${words(optionNames('run'))}" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($({ compgen -W "doctor kubeconfig init completion ${words(playbooks)} $(cd playbooks 2>/dev/null && compgen -G '*.y*ml')" -- "$cur"; compgen -f -X '!*.y*ml' -- "$cur"; } | sort -u))
  fi
}
${shell === 'zsh' ? 'autoload -U +X bashcompinit && bashcompinit\n' : ''}complete -o filenames -F _play play
`;
  print(script);
}
